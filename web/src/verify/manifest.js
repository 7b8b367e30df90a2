// provenance/manifest.py, provenance/records/schema.py (Schema.from_json) and the manifest half of
// provenance/lineage.py (parents, transforms): parse a manifest as Manifest.from_json(strict=False)
// does, compute its EIP-712 digest, recover its signer.

import { sha256 } from "@noble/hashes/sha2.js";

import { bytesToBig, equal, hexStr, utf8 } from "./bytes.js";
import { rfc8785 } from "./canonical.js";
import { ProvenanceError } from "./errors.js";
import { checksumAddress, recoverAddress, typedDataDigest } from "./evm.js";
import { UINT64_MAX, ZERO32, bytes32, checkDatasetName, checkUint64, datasetId } from "./fields.js";
import { big, get, has, isDict, isInt, isStr } from "./py.js";
import { checkRules, parseRules, qualityFromJson, ruleJson } from "./quality.js";

export const MANIFEST_FORMAT = "provenance-manifest/v1";
// v2: the schema has data-quality rules and the manifest their report's summary (manifest.py).
export const MANIFEST_FORMAT_V2 = "provenance-manifest/v2";
const SCHEMA_FORMAT = "provenance-schema/v1";
const SCHEMA_FORMAT_V2 = "provenance-schema/v2";
const COLUMN_TYPES = ["string", "integer", "number", "boolean", "json"];
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const MANIFEST_FIELDS = [
  "format",
  "dataset",
  "datasetId",
  "version",
  "root",
  "size",
  "schema",
  "schemaHash",
  "parents",
  "transform",
  "transformHash",
  "createdAt",
];

export const EIP712_TYPES = {
  EIP712Domain: [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
  ],
  Snapshot: [
    { name: "datasetId", type: "bytes32" },
    { name: "version", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "size", type: "uint64" },
    { name: "schemaHash", type: "bytes32" },
    { name: "parents", type: "Parent[]" },
    { name: "transformHash", type: "bytes32" },
    { name: "createdAt", type: "uint64" },
  ],
  Parent: [
    { name: "datasetId", type: "bytes32" },
    { name: "version", type: "uint64" },
    { name: "root", type: "bytes32" },
  ],
};

const err = (code) => (message) => new ProvenanceError(message, code);
const malformed = err("manifest.malformed");
const badDomain = err("manifest.bad-domain");
const badTransform = err("manifest.bad-transform");
const badSchema = err("schema.invalid");
const sameKeys = (obj, names) => Object.keys(obj).length === names.length && names.every((n) => has(obj, n));
const onlyKeys = (obj, names) => Object.keys(obj).every((k) => names.includes(k));

// --- the EIP-712 domain ------------------------------------------------------------------------

export function domainFromJson(obj) {
  if (!isDict(obj) || get(obj, "name") !== "ProvenanceRegistry" || get(obj, "version") !== "1") {
    throw badDomain("domain must name 'ProvenanceRegistry' version '1'");
  }
  const chainId = get(obj, "chainId");
  const contract = get(obj, "verifyingContract");
  // isinstance(x, int) holds for Python's booleans too
  const asInt = typeof chainId === "boolean" ? BigInt(chainId) : isInt(chainId) ? big(chainId) : null;
  if (asInt === null || asInt <= 0n || asInt > UINT64_MAX)
    throw badDomain(`chain id ${chainId} is not a positive integer`);
  if (!isStr(contract) || !ADDRESS.test(contract))
    throw badDomain(`contract address ${contract} is not 20 hex bytes`);
  return { chainId: asInt, verifyingContract: checksumAddress(contract) };
}

const domainJson = (d) => ({
  name: "ProvenanceRegistry",
  version: "1",
  chainId: d.chainId,
  verifyingContract: d.verifyingContract,
});

// --- schema, parents, transform --------------------------------------------------------------

export function schemaFromJson(obj) {
  const format = isDict(obj) ? get(obj, "format") : undefined;
  if (format !== SCHEMA_FORMAT && format !== SCHEMA_FORMAT_V2) {
    throw badSchema(`schema must be an object with format '${SCHEMA_FORMAT}' (or v2, with rules)`);
  }
  const v2 = format === SCHEMA_FORMAT_V2;
  if (v2 !== has(obj, "rules")) throw badSchema("v2 schemas, and only they, have rules");
  if (!onlyKeys(obj, ["format", "key", "columns", "salted", "derivedFrom", "rules"]))
    throw badSchema("unknown schema fields");
  const key = get(obj, "key");
  const columns = get(obj, "columns", {});
  const salted = get(obj, "salted", false);
  if (!(Array.isArray(key) && key.every(isStr))) throw badSchema("schema key must be a list of column names");
  if (!(isDict(columns) && Object.values(columns).every(isStr))) {
    throw badSchema("schema columns must map names to type names");
  }
  if (typeof salted !== "boolean") throw badSchema("schema salted must be true or false");
  const derived = get(obj, "derivedFrom", null);
  if (derived !== null && !isStr(derived)) throw badSchema("schema derivedFrom must be a field name");
  const rules = v2 ? parseRules(obj.rules, derived) : [];
  return checkSchema({ key: [...key], columns: { ...columns }, salted, derivedFrom: derived, rules });
}

function checkSchema(s) {
  if (!s.key.length) throw badSchema("a schema needs at least one key column");
  if (new Set(s.key).size !== s.key.length) throw badSchema("key columns repeat");
  if (!Object.values(s.columns).every((kind) => COLUMN_TYPES.includes(kind)))
    throw badSchema("unknown column type");
  const d = s.derivedFrom;
  if (d !== null && (!d || s.key.includes(d) || has(s.columns, d))) {
    throw badSchema(`derivedFrom ${d} must name a field that is not a key or typed column`);
  }
  if (s.key.some((col) => get(s.columns, col) === "json"))
    throw badSchema("a key column cannot be of type json");
  s.rules = checkRules(s.rules, s.derivedFrom);
  return s;
}

function schemaJson(s) {
  const json = { format: s.rules.length ? SCHEMA_FORMAT_V2 : SCHEMA_FORMAT, key: s.key, columns: s.columns, salted: s.salted };
  if (s.derivedFrom !== null) json.derivedFrom = s.derivedFrom;
  if (s.rules.length) json.rules = s.rules.map(ruleJson);
  return json;
}

export const schemaHash = (s) => sha256(utf8(rfc8785(schemaJson(s))));

/** Manifest.schema_hash: v1 the schema's hash; v2 SHA-256(RFC 8785({schema, quality})). */
export function manifestSchemaHash(m) {
  if (m.quality === null) return schemaHash(m.schema);
  const quality = { report: hexStr(m.quality.report), failedRules: m.quality.failedRules };
  return sha256(utf8(rfc8785({ schema: schemaJson(m.schema), quality })));
}

export function parentFromJson(obj) {
  if (!isDict(obj) || !onlyKeys(obj, ["dataset", "datasetId", "version", "root"])) {
    throw malformed("parent must be {dataset?, datasetId, version, root}");
  }
  const id = bytes32(get(obj, "datasetId", null), "parent datasetId");
  const version = get(obj, "version", null);
  const root = bytes32(get(obj, "root", null), "parent root");
  const dataset = get(obj, "dataset", null);
  checkUint64(version, "parent version", 1n);
  if (dataset !== null && !equal(datasetId(dataset), id)) {
    throw new ProvenanceError(
      `parent dataset ${dataset} does not hash to its datasetId`,
      "manifest.inconsistent",
    );
  }
  return { datasetId: id, version, root, dataset };
}

export function checkTransform(t) {
  if (t === null) return null;
  const ok =
    isDict(t) &&
    sameKeys(t, ["name", "code", "params"]) &&
    isStr(t.name) &&
    isStr(t.code) &&
    isDict(t.params);
  if (!ok) throw badTransform('transform must be {"name": str, "code": str, "params": object}');
  return t;
}

/** SHA-256(RFC 8785(transform)), or 32 zero bytes for source data. */
export const transformHash = (t) => (t === null ? ZERO32 : sha256(utf8(rfc8785(t))));

// --- the manifest ----------------------------------------------------------------------------

/** Manifest.from_json(obj, strict=False). */
export function manifestFromJson(obj) {
  const format = isDict(obj) ? get(obj, "format") : undefined;
  if (format !== MANIFEST_FORMAT && format !== MANIFEST_FORMAT_V2) {
    throw malformed(`manifest must be an object with format '${MANIFEST_FORMAT}' or '${MANIFEST_FORMAT_V2}'`);
  }
  const v2 = format === MANIFEST_FORMAT_V2;
  if (!sameKeys(obj, v2 ? [...MANIFEST_FIELDS, "quality"] : MANIFEST_FIELDS)) throw malformed("manifest fields differ");
  if (!Array.isArray(obj.parents)) throw malformed("manifest parents must be a list");
  const m = {
    dataset: obj.dataset,
    version: obj.version,
    root: bytes32(obj.root, "root"),
    size: obj.size,
    schema: schemaFromJson(obj.schema),
    createdAt: obj.createdAt,
    parents: obj.parents.map(parentFromJson),
    transform: checkTransform(obj.transform),
    quality: v2 ? qualityFromJson(obj.quality) : null,
  };
  checkDatasetName(m.dataset);
  checkUint64(m.version, "version", 1n);
  checkUint64(m.size, "size");
  checkUint64(m.createdAt, "createdAt");
  if (m.parents.length && m.transform === null)
    throw badTransform("a snapshot with parents must name its transform");
  if ((m.schema.rules.length > 0) !== (m.quality !== null))
    throw malformed("a manifest carries a quality summary exactly when its schema has rules");
  for (const name of ["datasetId", "schemaHash", "transformHash"]) bytes32(obj[name], name);
  return m;
}

export const manifestDatasetId = (m) => datasetId(m.dataset);

/** Names of the derived fields of obj that differ from what the manifest computes. */
export function inconsistencies(obj, m) {
  const derived = {
    datasetId: manifestDatasetId(m),
    schemaHash: manifestSchemaHash(m),
    transformHash: transformHash(m.transform),
  };
  return Object.keys(derived).filter((name) => !equal(bytes32(obj[name], name), derived[name]));
}

function message(m) {
  return {
    datasetId: manifestDatasetId(m),
    version: m.version,
    root: m.root,
    size: m.size,
    schemaHash: manifestSchemaHash(m),
    parents: m.parents.map((p) => ({ datasetId: p.datasetId, version: p.version, root: p.root })),
    transformHash: transformHash(m.transform),
    createdAt: m.createdAt,
  };
}

/** The EIP-712 digest keccak256(0x1901 || domainSeparator || hashStruct(Snapshot)). */
export function manifestDigest(m, domain) {
  return typedDataDigest({
    types: EIP712_TYPES,
    primaryType: "Snapshot",
    domain: domainJson(domain),
    message: message(m),
  });
}

const sigError = (message, code) => new ProvenanceError(message, code);

/** 65-byte r || s || v with v in {27, 28}, 0 < r, s < n, low s (EIP-2). */
export function checkSignatureForm(signature) {
  if (signature.length !== 65) throw sigError("signature must be 65 bytes (r, s, v)", "signature.malformed");
  const r = bytesToBig(signature.subarray(0, 32));
  const s = bytesToBig(signature.subarray(32, 64));
  const v = signature[64];
  if (v !== 27 && v !== 28) throw sigError(`signature v is ${v}, expected 27 or 28`, "signature.malformed");
  if (!(r > 0n && r < SECP256K1_N && s > 0n && s < SECP256K1_N)) {
    throw sigError("signature r or s out of range", "signature.malformed");
  }
  if (s > SECP256K1_N / 2n) {
    throw sigError("signature s is in the upper half of the curve order (malleable)", "signature.high-s");
  }
}

/** The checksummed address whose key signed the manifest for the domain. */
export function recoverSigner(m, domain, signature) {
  checkSignatureForm(signature);
  try {
    return recoverAddress(manifestDigest(m, domain), signature);
  } catch (e) {
    throw sigError(`signature does not recover a key: ${e.message}`, "signature.malformed");
  }
}
