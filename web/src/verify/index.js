// The audit console's verifier: the verdicts and reason codes of the Python verifier
// (provenance verify, POST /v1/verify), computed in the browser. Runs unchanged in Node 20.
//
// Documents are read from their text (or UTF-8 bytes), never from a JSON.parse result: Python
// keeps big integers exact, refuses duplicate member names and tells 7.0 from 7, and so must
// this. An object is accepted for convenience only and re-serialised, which loses all that.

import { parseBundle } from "./bundle.js";
import { isCollection, parseCollection } from "./collection.js";
import { verifyParsedCollection } from "./collection_verify.js";
import { ProvenanceError } from "./errors.js";
import { MAX_DOCUMENT_BYTES, loads } from "./json.js";
import { policyOf, verifyParsedBundle } from "./verify.js";

export { rpcChain, jsonRpc, registryReader } from "./chain.js";
export { CHECKS, SNAPSHOT_CHECKS } from "./verdict.js";

const MAX_COLLECTION_BYTES = 2 ** 30;

function textOf(doc) {
  if (typeof doc === "string" || doc instanceof Uint8Array) return doc;
  if (doc instanceof ArrayBuffer) return new Uint8Array(doc);
  return JSON.stringify(doc);
}

/** What Python answers for a document it refuses before any verdict. */
function unusable(e) {
  if (!(e instanceof ProvenanceError)) throw e;
  return { status: "unusable", code: e.code, detail: e.message };
}

/**
 * Verify a provenance-proof/v1 bundle.
 * @param doc bundle text, UTF-8 bytes (Uint8Array, ArrayBuffer) or, lossily, an object
 * @param options {offline, logKeys: [C2SP verifier key], chain: AnchorReader (rpcChain(url))}
 * @returns Verdict.to_json(): {status, offline, checks: [{check, status, reason, detail}], upstream}
 *   or {status: "unusable", code, detail} where Python raises a FormatError
 */
export async function verifyBundle(doc, { offline = false, logKeys = [], chain = null } = {}) {
  let bundle;
  try {
    bundle = parseBundle(textOf(doc));
  } catch (e) {
    return unusable(e);
  }
  return verifyParsedBundle(bundle, policyOf({ offline, logKeys }), chain);
}

/**
 * Verify a provenance-proofs/v1 collection (JSON layout).
 * @returns CollectionVerdict.to_json(): {status, offline, snapshots, records, edges, truncated,
 *   failures: [{where, reason, detail}], failureCount} or {status: "unusable", code, detail}
 */
export async function verifyCollection(doc, { offline = false, logKeys = [], chain = null } = {}) {
  let collection;
  try {
    collection = parseCollection(textOf(doc));
  } catch (e) {
    return unusable(e);
  }
  return verifyParsedCollection(collection, policyOf({ offline, logKeys }), chain);
}

/**
 * A bundle or a collection, told apart as `provenance verify FILE` does.
 * @returns {kind: "bundle" | "collection" | null, verdict}
 */
export async function verifyDocument(doc, options = {}) {
  const text = textOf(doc);
  let parsed;
  try {
    parsed = loads(text, MAX_COLLECTION_BYTES);
  } catch (e) {
    return { kind: null, verdict: unusable(e) };
  }
  if (isCollection(parsed)) return { kind: "collection", verdict: await verifyCollection(text, options) };
  return { kind: "bundle", verdict: await verifyBundle(text, options) };
}

/** 0x-hex SHA-256 of a document's bytes (the audit trail's bundleSha256), with WebCrypto: one
 * digest of a possibly large file, where the native hash is fastest and a promise costs nothing. */
export async function documentSha256(doc) {
  const text = textOf(doc);
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes));
  return `0x${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export { MAX_DOCUMENT_BYTES };
