// provenance/proofs/collection.py: provenance-proofs/v1, record proofs sharing their snapshots'
// sections; record i with its snapshot is a provenance-proof/v1 bundle (cutOut).

import { BUNDLE_FORMAT } from "./bundle.js";
import { keyText } from "./canonical.js";
import { CanonicalError, ProvenanceError, PyError } from "./errors.js";
import { loads } from "./json.js";
import { get, has, isDict, isInt, numLe, pyIndex, pyRepr } from "./py.js";
import { validCollection } from "./schema.js";

export const COLLECTION_FORMAT = "provenance-proofs/v1";
const MAX_COLLECTION_BYTES = 2 ** 30;

export const isCollection = (doc) => isDict(doc) && get(doc, "format") === COLLECTION_FORMAT;

const malformed = (message) => new ProvenanceError(message, "collection.malformed");

/** collection.parse: JSON text or bytes to a collection, or ProvenanceError. */
export const parseCollection = (text) => collectionFromJson(loads(text, MAX_COLLECTION_BYTES));

export function collectionFromJson(doc) {
  if (!isCollection(doc)) {
    const found = isDict(doc) ? pyRepr(get(doc, "format", null)) : typeof doc;
    throw new ProvenanceError(
      `not a ${COLLECTION_FORMAT} collection (format: ${found})`,
      "collection.unsupported",
    );
  }
  if (!validCollection(doc)) throw malformed("collection does not match its JSON Schema");
  const { snapshots, records } = doc;
  snapshots.forEach((snap, i) => {
    if (!isDict(snap.manifest) || !isDict(get(snap.manifest, "manifest", null))) {
      throw malformed(`snapshot ${i} has no manifest object`);
    }
  });
  records.forEach((r, i) => checkRecord(i, r, snapshots.length));
  const root = get(doc, "root", null);
  if (root !== null && (!isInt(root) || numLe(records.length, root)))
    throw malformed(`root ${root} is not a record of the collection`);
  return { snapshots, records, root, truncated: Boolean(get(doc, "truncated", false)), raw: doc };
}

// collection._check_record: what verification indexes by or hashes is refused at parse, so a
// verdict never fails on it (the schema's "integer" takes 0.0; a key needs an RFC 8785 form).
function checkRecord(i, r, snapshots) {
  if (!isInt(r.snapshot) || numLe(snapshots, r.snapshot)) {
    throw malformed(`record ${i} points at snapshot ${r.snapshot}, of ${snapshots}`);
  }
  const refs = get(r.entry, "derived_from", null);
  const keys = [r.key];
  if (Array.isArray(refs)) for (const ref of refs) if (isDict(ref) && has(ref, "key")) keys.push(ref.key);
  for (const key of keys) {
    try {
      keyText(Array.isArray(key) ? key : [key]);
    } catch (e) {
      if (e instanceof CanonicalError) throw malformed(`record ${i}: a key has no RFC 8785 form: ${e.message}`);
      throw e;
    }
  }
}

/** Record index as a standalone provenance-proof/v1 bundle document. */
export function cutOut(collection, index) {
  const rec = collection.records[index];
  const snap = pyIndex(collection.snapshots, rec.snapshot);
  const inner = get(snap.manifest, "manifest", {});
  if (!isDict(inner)) {
    // Python calls .get() on it: a manifest that is not an object is an AttributeError there
    throw new PyError("AttributeError", `'${typeof inner}' object has no attribute 'get'`);
  }
  return {
    format: BUNDLE_FORMAT,
    record: {
      dataset: snap.dataset,
      version: snap.version,
      key: rec.key,
      entry: rec.entry,
      leafIndex: rec.leafIndex,
      treeSize: get(inner, "size", null),
      inclusionPath: rec.inclusionPath,
    },
    manifest: snap.manifest,
    log: snap.log,
    anchor: snap.anchor,
  };
}
