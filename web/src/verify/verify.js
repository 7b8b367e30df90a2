// provenance/proofs/verify.py: every link of a provenance-proof/v1 bundle recomputed, one check
// each. A verifier fails closed: anything unexpected inside a check is that check's failure.

import { equal, utf8 } from "./bytes.js";
import { canonical, keyText } from "./canonical.js";
import { parseVerifierKey, verifyNote } from "./checkpoint.js";
import { CanonicalError, ProvenanceError, describe } from "./errors.js";
import { checkRefs } from "./lineage.js";
import { inconsistencies, manifestDatasetId, manifestDigest, recoverSigner } from "./manifest.js";
import { hashLeaf, verifyInclusion } from "./merkle.js";
import { get, has, numEq } from "./py.js";
import {
  ABSENT,
  CHECKS,
  INVALID,
  NOT_APPLICABLE,
  SKIPPED,
  WARNING,
  check,
  invalid,
  valid,
  verdict,
  warningsOf,
} from "./verdict.js";

/** Policy: offline (no chain read, a missing anchor accepted), logKeys (pinned C2SP keys). */
export const policyOf = ({ offline = false, logKeys = [] } = {}) => ({
  offline: Boolean(offline),
  logKeys: [...logKeys],
});

/** verify_bundle: a parsed bundle's verdict; never throws for a bad bundle, reports it. */
export async function verifyParsedBundle(b, policy, chain = null) {
  const checks = {};
  checks.leaf = guard("leaf", () => checkLeaf(b));
  checks.inclusion = guard("inclusion", () => checkInclusion(b));
  for (const c of await snapshotChecks(b, policy, chain)) checks[c.check] = c;
  const upstream = [];
  for (const u of b.upstream) upstream.push(await verifyParsedBundle(u, policy, chain));
  checks.lineage = guard("lineage", () => checkLineage(b, upstream));
  return verdict(
    CHECKS.map((n) => checks[n]),
    upstream,
    policy.offline,
    warningsOf(checks),
  );
}

/** The checks of a snapshot: signature, log inclusion, checkpoint and the chain's three. */
export async function snapshotChecks(sections, policy, chain) {
  const signature = guard("signature", () => checkSignature(sections));
  const [logChecks, checkpoint] = checkLog(sections, policy);
  const chainChecks = await checkChain(sections, checkpoint, policy, chain);
  return [signature, ...Object.values(logChecks), ...Object.values(chainChecks), ...qualityWarning(sections)];
}

/** verify._quality_warning: the source's signed quality summary lists failed warn rules. */
function qualityWarning(sections) {
  const quality = sections.manifest.manifest.quality;
  if (quality === null || !quality.failedRules.length) return [];
  const detail = `the source's signed quality report lists failed rules: ${quality.failedRules.join(", ")}`;
  return [check("quality", WARNING, "quality.rules-failed", detail)];
}

/** The checks of a record alone: leaf and inclusion. */
export const recordChecks = (b) => [
  guard("leaf", () => checkLeaf(b)),
  guard("inclusion", () => checkInclusion(b)),
];

export function guard(name, fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProvenanceError) return invalid(name, e.code, e.message);
    return invalid(name, `${name}.error`, describe(e));
  }
}

/** RFC 8785 bytes of the bundle's entry (CanonicalError when it has none). */
export const leafInput = (b) => utf8(canonical(b.record.entry));

function checkLeaf(b) {
  const rec = b.record;
  const m = b.manifest.manifest;
  let data;
  try {
    data = leafInput(b);
  } catch (e) {
    if (e instanceof CanonicalError)
      return invalid("leaf", "leaf.not-canonical", `entry has no RFC 8785 form: ${e.message}`);
    throw e;
  }
  const record = rec.entry.record;
  const missing = m.schema.key.filter((c) => !has(record, c));
  if (missing.length) return invalid("leaf", "leaf.key-mismatch", `entry lacks key column(s) ${missing}`);
  const actual = keyText(m.schema.key.map((c) => record[c]));
  if (actual !== keyText(rec.key)) {
    return invalid("leaf", "leaf.key-mismatch", `bundle key ${keyText(rec.key)} but entry has ${actual}`);
  }
  if (m.schema.salted !== has(rec.entry, "salt")) {
    const why = m.schema.salted
      ? "schema is salted but entry has no salt"
      : "entry has a salt but the schema is not salted";
    return invalid("leaf", "leaf.salt-mismatch", why);
  }
  if (rec.dataset !== m.dataset || !numEq(rec.version, m.version)) {
    return invalid(
      "leaf",
      "leaf.wrong-snapshot",
      `record names ${rec.dataset} v${rec.version}, manifest is ${m.dataset} v${m.version}`,
    );
  }
  return valid("leaf", `leaf input of ${data.length} bytes`);
}

function checkInclusion(b) {
  const rec = b.record;
  const m = b.manifest.manifest;
  if (!numEq(rec.treeSize, m.size)) {
    return invalid(
      "inclusion",
      "inclusion.size-mismatch",
      `proof is for size ${rec.treeSize}, manifest says ${m.size}`,
    );
  }
  verifyInclusion(hashLeaf(leafInput(b)), rec.leafIndex, rec.treeSize, rec.path, m.root);
  return valid("inclusion", `leaf ${rec.leafIndex} of ${rec.treeSize}`);
}

function checkSignature(sections) {
  const mp = sections.manifest;
  const bad = inconsistencies(mp.rawManifest, mp.manifest);
  if (bad.length) {
    return invalid(
      "signature",
      "signature.manifest-inconsistent",
      `manifest ${bad.join(", ")} does not match what is signed`,
    );
  }
  const digest = manifestDigest(mp.manifest, mp.domain);
  if (mp.digest !== null && !equal(mp.digest, digest)) {
    return invalid("signature", "signature.digest-mismatch", "stated digest is not the manifest's");
  }
  const signer = recoverSigner(mp.manifest, mp.domain, mp.signature);
  if (signer.toLowerCase() !== mp.signer.toLowerCase()) {
    throw new ProvenanceError(
      `signature recovers ${signer}, bundle claims ${mp.signer}`,
      "signature.signer-mismatch",
    );
  }
  return valid("signature", `EIP-712 signed by ${signer} for chain ${mp.domain.chainId}`);
}

function checkLog(sections, policy) {
  const { log } = sections;
  if (log === null) {
    const direct = sections.anchor !== null && sections.anchor.mode === "direct";
    const detail = direct ? "direct anchor: no ledger log" : "not yet in a signed checkpoint";
    const of = (n) => check(n, direct ? NOT_APPLICABLE : ABSENT, direct ? "" : `${n}.absent`, detail);
    return [
      { "log-inclusion": of("log-inclusion"), "checkpoint-signature": of("checkpoint-signature") },
      null,
    ];
  }
  let checkpoint = null;
  const signature = guard("checkpoint-signature", () => {
    const errors = [];
    for (const text of policy.logKeys.length ? policy.logKeys : [log.logKey]) {
      try {
        checkpoint = verifyNote(parseVerifierKey(text), log.checkpoint);
        const pinned = policy.logKeys.length ? "pinned" : "from the bundle, not pinned";
        return valid("checkpoint-signature", `signed by log key ${text.split("+")[0]} (${pinned})`);
      } catch (e) {
        if (!(e instanceof ProvenanceError)) throw e;
        errors.push(e);
      }
    }
    throw errors[0];
  });
  const inclusion = guard("log-inclusion", () => checkLogInclusion(sections, log, checkpoint));
  return [{ "checkpoint-signature": signature, "log-inclusion": inclusion }, checkpoint];
}

function checkLogInclusion(sections, log, checkpoint) {
  if (checkpoint === null) {
    return invalid(
      "log-inclusion",
      "log-inclusion.no-checkpoint",
      "the checkpoint did not verify, so there is no root to prove against",
    );
  }
  if (!numEq(log.treeSize, checkpoint.size)) {
    return invalid(
      "log-inclusion",
      "log-inclusion.size-mismatch",
      `proof is for log size ${log.treeSize}, checkpoint has ${checkpoint.size}`,
    );
  }
  const digest = manifestDigest(sections.manifest.manifest, sections.manifest.domain);
  verifyInclusion(hashLeaf(digest), log.index, log.treeSize, log.path, checkpoint.root);
  return valid("log-inclusion", `manifest digest is log entry ${log.index} of ${log.treeSize}`);
}

const CHAIN_CHECKS = ["anchor", "confirmations", "source-status"];
const each = (fn) => Object.fromEntries(CHAIN_CHECKS.map((n) => [n, fn(n)]));

async function checkChain(sections, checkpoint, policy, chain) {
  if (sections.anchor === null) {
    if (policy.offline)
      return each((n) => check(n, n === "anchor" ? ABSENT : SKIPPED, "", "not anchored; accepted offline"));
    return each((n) => check(n, ABSENT, `${n}.absent`, "the bundle carries no anchor"));
  }
  if (policy.offline || !chain) {
    const why = policy.offline ? "offline: the chain was not read" : "no chain RPC given";
    return each((n) =>
      check(n, policy.offline ? SKIPPED : ABSENT, policy.offline ? "" : `${n}.unchecked`, why),
    );
  }
  let facts;
  try {
    facts = await chain.checkAnchor(sections, checkpoint);
  } catch (e) {
    if (e instanceof ProvenanceError) return each((n) => invalid(n, e.code, e.message));
    return each((n) => check(n, INVALID, "anchor.error", describe(e)));
  }
  const out = { anchor: facts.anchor, confirmations: facts.confirmations, "source-status": facts.sourceStatus };
  if (facts.disputes) out.disputes = facts.disputes;
  return out;
}

function checkLineage(b, upstream) {
  const refs = get(b.record.entry, "derived_from", null) || [];
  if (!refs.length && !b.upstream.length)
    return check("lineage", NOT_APPLICABLE, "", "no record-level lineage");
  const found = b.upstream.map((u, i) => ({
    dataset: u.record.dataset,
    version: u.record.version,
    key: u.record.key,
    datasetId: manifestDatasetId(u.manifest.manifest),
    root: u.manifest.manifest.root,
    status: upstream[i].status,
    leaf: upstreamLeaf(u),
  }));
  const broken = checkRefs(refs, b.manifest.manifest.parents, found);
  if (broken !== null) return invalid("lineage", ...broken);
  return valid("lineage", `${refs.length} upstream record(s) verified`);
}

function upstreamLeaf(u) {
  try {
    return hashLeaf(leafInput(u));
  } catch (e) {
    if (e instanceof CanonicalError) return new Uint8Array(0); // its own leaf check fails
    throw e;
  }
}
