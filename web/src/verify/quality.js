// provenance/quality/rules.py (Rule.from_json, parse_rules, check_rules) and the summary half of
// provenance/quality/report.py (QualitySummary.from_json): a v2 schema's data-quality rules and a
// v2 manifest's quality summary, parsed exactly as Python parses them, so both verifiers agree on
// which manifests parse and what their schemaHash is. The rules themselves run only where the
// data is (the ingest, `provenance check`).

import { ProvenanceError } from "./errors.js";
import { bytes32 } from "./fields.js";
import { big, get, has, isDict, isFloat, isInt, isStr } from "./py.js";

const LEVELS = ["error", "warn"];
const VALUE_TYPES = ["string", "integer", "number", "boolean", "date", "datetime"];
const COLUMN_RULES = ["required", "type", "minimum", "maximum", "enum", "pattern", "unique", "freshness"];
const DATASET_RULES = ["rowCount", "referential"];
const MAX_RULES = 64;
const MAX_ENUM = 1000;
const MAX_PATTERN = 1000;

const bad = (reason) => new ProvenanceError(`quality rule: ${reason}`, "schema.invalid");
const malformed = (message) => new ProvenanceError(message, "manifest.malformed");

/** Python's str ordering: by code point (JS's < compares UTF-16 code units). */
export function codePointCompare(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

const SAFE_INT = 2n ** 53n - 1n;
// Integers only within ±(2^53-1): RFC 8785 has no form for others, and the schema is hashed.
const finiteNumber = (v) =>
  isInt(v) ? big(v) >= -SAFE_INT && big(v) <= SAFE_INT : isFloat(v) && Number.isFinite(Number(v));
const count = (v) => isInt(v) && big(v) >= 0n && big(v) < 2n ** 53n;
const ruleId = (r) => (r.column !== null ? `${r.column}.${r.kind}` : r.kind);

function checkValue(kind, value) {
  if (["required", "unique", "referential"].includes(kind)) {
    if (value !== true) throw bad(`${kind} takes true`);
  } else if (kind === "type") {
    if (!VALUE_TYPES.includes(value)) throw bad(`type must be one of ${VALUE_TYPES.join(", ")}`);
  } else if (kind === "minimum" || kind === "maximum") {
    if (!finiteNumber(value)) throw bad(`${kind} must be a finite number`);
  } else if (kind === "enum") {
    if (!(Array.isArray(value) && value.length > 0 && value.length <= MAX_ENUM))
      throw bad(`enum must be a list of 1 to ${MAX_ENUM} values`);
    if (!value.every((i) => isStr(i) || typeof i === "boolean" || finiteNumber(i)))
      throw bad("enum values must be strings, numbers or booleans");
  } else if (kind === "pattern") {
    const length = isStr(value) ? Array.from(value).length : 0; // Python's len: code points
    if (!(length > 0 && length <= MAX_PATTERN))
      throw bad(`pattern must be an RE2 regular expression of 1 to ${MAX_PATTERN} characters`);
  } else if (kind === "freshness") {
    const ok = isDict(value) && Object.keys(value).length === 1 && has(value, "maxAge") && count(value.maxAge);
    if (!ok) throw bad('freshness must be {"maxAge": seconds}, a whole number');
  } else {
    const keys = isDict(value) ? Object.keys(value) : [];
    if (!(isDict(value) && keys.length && keys.every((k) => k === "min" || k === "max")))
      throw bad('rowCount must be {"min": n, "max": n} (either or both)');
    if (!Object.values(value).every(count)) throw bad("rowCount bounds must be whole numbers");
    if (has(value, "min") && has(value, "max") && big(value.min) > big(value.max))
      throw bad("rowCount min is above its max");
  }
}

/** Rule.from_json. */
export function ruleFromJson(obj) {
  if (!isDict(obj)) throw bad("a rule must be an object");
  const kinds = Object.keys(obj).filter((k) => k !== "column" && k !== "level");
  if (kinds.length !== 1 || ![...COLUMN_RULES, ...DATASET_RULES].includes(kinds[0]))
    throw bad("a rule has exactly one constraint");
  const kind = kinds[0];
  const level = get(obj, "level", "error");
  const column = get(obj, "column", null);
  if (!LEVELS.includes(level)) throw bad("level must be error or warn");
  if (COLUMN_RULES.includes(kind) && !(isStr(column) && column)) throw bad(`${kind} needs a column`);
  if (DATASET_RULES.includes(kind) && column !== null) throw bad(`${kind} is a rule of the dataset`);
  checkValue(kind, obj[kind]);
  if (kind === "referential" && level !== "error") throw bad("referential can only be an error rule");
  return { kind, level, column, value: obj[kind] };
}

/** check_rules: ids unique, none on the refs field, referential only with derivedFrom; sorted. */
export function checkRules(rules, derivedFrom) {
  const ids = rules.map(ruleId);
  if (new Set(ids).size !== ids.length) throw bad("a rule repeats");
  for (const r of rules) {
    if (r.column !== null && r.column === derivedFrom) throw bad("the refs field is not a column");
    if (r.kind === "referential" && derivedFrom === null) throw bad("referential needs derivedFrom");
  }
  return [...rules].sort((a, b) => codePointCompare(ruleId(a), ruleId(b)));
}

/** parse_rules. */
export function parseRules(obj, derivedFrom) {
  if (!(Array.isArray(obj) && obj.length > 0 && obj.length <= MAX_RULES))
    throw bad(`rules must be a list of 1 to ${MAX_RULES} rules`);
  return checkRules(obj.map(ruleFromJson), derivedFrom);
}

/** Rule.to_json (the normal form hashed into the schema). */
export function ruleJson(r) {
  const out = { [r.kind]: r.value, level: r.level };
  if (r.column !== null) out.column = r.column;
  return out;
}

/** QualitySummary.from_json: {report: bytes32, failedRules: sorted unique names}. */
export function qualityFromJson(obj) {
  const keys = isDict(obj) ? Object.keys(obj) : [];
  if (!(isDict(obj) && keys.length === 2 && has(obj, "report") && has(obj, "failedRules")))
    throw malformed("manifest quality must be {report, failedRules}");
  const failed = obj.failedRules;
  if (!(Array.isArray(failed) && failed.every(isStr)))
    throw malformed("manifest quality failedRules must be rule names");
  const normal = [...new Set(failed)].sort(codePointCompare);
  if (normal.length !== failed.length || normal.some((r, i) => r !== failed[i]))
    throw malformed("manifest quality failedRules must be sorted and unique");
  return { report: bytes32(obj.report, "quality report"), failedRules: [...failed] };
}
