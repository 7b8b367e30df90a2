// provenance/proofs/collection.py: provenance-proofs/v1, record proofs sharing their snapshots'
// sections; record i with its snapshot is a provenance-proof/v1 bundle (cutOut).

import { BUNDLE_FORMAT } from "./bundle.js";
import { ProvenanceError, PyError } from "./errors.js";
import { loads } from "./json.js";
import { get, isDict, numLe, pyIndex, pyRepr } from "./py.js";
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
  records.forEach((r, i) => {
    if (numLe(snapshots.length, r.snapshot)) {
      throw malformed(`record ${i} points at snapshot ${r.snapshot}, of ${snapshots.length}`);
    }
  });
  const root = get(doc, "root", null);
  if (root !== null && numLe(records.length, root))
    throw malformed(`root ${root} is not a record of the collection`);
  return { snapshots, records, root, truncated: Boolean(get(doc, "truncated", false)), raw: doc };
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
