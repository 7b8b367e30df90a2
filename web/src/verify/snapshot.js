// provenance/proofs/snapshot.py: provenance-snapshot-proof/v1, a bundle without its record, and
// its checks (the ones of a bundle that do not concern a record).

import { anchorOf, logProof, manifestProof } from "./bundle.js";
import { ProvenanceError } from "./errors.js";
import { loads } from "./json.js";
import { get, isDict, numEq, pyRepr } from "./py.js";
import { validSnapshotProof } from "./schema.js";
import { INVALID, SNAPSHOT_CHECKS, check, verdict, warningsOf } from "./verdict.js";
import { snapshotChecks } from "./verify.js";

export const SNAPSHOT_PROOF_FORMAT = "provenance-snapshot-proof/v1";

export const parseSnapshotProof = (text) => snapshotFromJson(loads(text));

export function snapshotFromJson(obj) {
  if (!isDict(obj) || get(obj, "format") !== SNAPSHOT_PROOF_FORMAT) {
    const found = isDict(obj) ? pyRepr(get(obj, "format", null)) : typeof obj;
    throw new ProvenanceError(
      `not a ${SNAPSHOT_PROOF_FORMAT} document (format: ${found})`,
      "snapshot-proof.unsupported",
    );
  }
  if (!validSnapshotProof(obj)) {
    throw new ProvenanceError("snapshot proof does not match its JSON Schema", "snapshot-proof.malformed");
  }
  return {
    dataset: obj.dataset,
    version: obj.version,
    manifest: manifestProof(obj.manifest),
    log: logProof(obj.log),
    anchor: anchorOf(obj.anchor),
    raw: obj,
  };
}

/** verify_snapshot: the manifest names this snapshot and is signed, logged and anchored. */
export async function verifySnapshot(proof, policy, chain = null) {
  const checks = Object.fromEntries((await snapshotChecks(proof, policy, chain)).map((c) => [c.check, c]));
  const m = proof.manifest.manifest;
  if (m.dataset !== proof.dataset || !numEq(m.version, proof.version)) {
    checks.signature = check(
      "signature",
      INVALID,
      "snapshot-proof.wrong-snapshot",
      `the proof names ${proof.dataset} v${proof.version}, its manifest is ${m.dataset} v${m.version}`,
    );
  }
  return verdict(
    SNAPSHOT_CHECKS.map((n) => checks[n]),
    [],
    policy.offline,
    warningsOf(checks),
  );
}
