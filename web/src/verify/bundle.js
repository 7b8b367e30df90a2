// provenance/proofs/bundle.py: the provenance-proof/v1 bundle, parsed or refused (FormatError)
// on structure alone; verify.js recomputes every hash and signature.

import { fromHex } from "./bytes.js";
import { ProvenanceError } from "./errors.js";
import { loads } from "./json.js";
import { domainFromJson, manifestFromJson } from "./manifest.js";
import { get, has, isDict, pyRepr } from "./py.js";
import { validBundle } from "./schema.js";

export const BUNDLE_FORMAT = "provenance-proof/v1";
const MAX_UPSTREAM_DEPTH = 8;

/** bundle.parse: JSON text or bytes to a bundle, or ProvenanceError. */
export const parseBundle = (text) => bundleFromJson(loads(text));

export function bundleFromJson(obj, depth = 0) {
  if (depth > MAX_UPSTREAM_DEPTH) {
    throw new ProvenanceError(`upstream bundles nest deeper than ${MAX_UPSTREAM_DEPTH}`, "bundle.malformed");
  }
  if (!isDict(obj) || get(obj, "format") !== BUNDLE_FORMAT) {
    const found = isDict(obj) ? pyRepr(get(obj, "format", null)) : typeof obj;
    throw new ProvenanceError(`not a ${BUNDLE_FORMAT} bundle (format: ${found})`, "bundle.unsupported");
  }
  if (!validBundle(obj))
    throw new ProvenanceError("bundle does not match its JSON Schema", "bundle.malformed");
  const rec = obj.record;
  return {
    record: {
      dataset: rec.dataset,
      version: rec.version,
      key: [...rec.key],
      entry: rec.entry,
      leafIndex: rec.leafIndex,
      treeSize: rec.treeSize,
      path: hashes(rec.inclusionPath),
    },
    manifest: manifestProof(obj.manifest),
    log: logProof(obj.log),
    anchor: anchorOf(obj.anchor),
    upstream: get(obj, "upstream", []).map((u) => bundleFromJson(u, depth + 1)),
    raw: obj,
  };
}

/** The signed-manifest section of a schema-valid bundle or snapshot proof. */
export function manifestProof(man) {
  return {
    manifest: manifestFromJson(man.manifest),
    rawManifest: man.manifest,
    domain: domainFromJson(man.domain),
    signature: lenientHex(man.signature),
    signer: man.signer,
    digest: has(man, "digest") ? hash(man.digest) : null,
  };
}

export function logProof(log) {
  if (log === null) return null;
  return {
    index: log.index,
    treeSize: log.treeSize,
    path: hashes(log.inclusionPath),
    checkpoint: log.checkpoint,
    logKey: log.logKey,
  };
}

export function anchorOf(anchor) {
  if (anchor === null) return null;
  return {
    mode: anchor.mode,
    chainId: anchor.chainId,
    contract: anchor.contract,
    txHash: hash(anchor.txHash),
    blockNumber: anchor.blockNumber,
    blockHash: hash(anchor.blockHash),
    checkpointIndex: get(anchor, "checkpointIndex", null),
  };
}

// The schema has already checked these are 0x and 64 hex digits (and, as Python's `$` allows,
// perhaps a final newline, which bytes.fromhex skips).
const hash = (text) => fromHex(text.slice(2));
const hashes = (items) => items.map(hash);

/** Signature bytes; an odd-length hex string becomes empty so that verify reports it. */
function lenientHex(text) {
  try {
    return fromHex(text.slice(2));
  } catch {
    return new Uint8Array(0);
  }
}
