// The JSON Schema checks of the three proof formats, as python-jsonschema (Draft 2020-12, no
// format assertions) applies them: only the keywords these schemas use, each with Python's
// reading, e.g. "integer" accepts 7.0, a pattern is re.search (so `$` also matches before a
// final newline), lengths count code points. A keyword this does not know is refused when the
// schema is loaded, so a schema change cannot pass unchecked.

import { PROOFS_SCHEMA, PROOF_SCHEMA, SNAPSHOT_PROOF_SCHEMA } from "./schemas.js";
import { has, isDict, isIntegral, isNumber, isStr, numEq, numLt, pyLen } from "./py.js";

const ANNOTATIONS = new Set(["$schema", "$id", "title", "description", "$defs"]);
const SCHEMAS = [PROOF_SCHEMA, SNAPSHOT_PROOF_SCHEMA, PROOFS_SCHEMA];
const patterns = new Map();

const TYPES = {
  array: Array.isArray,
  boolean: (v) => typeof v === "boolean",
  integer: isIntegral,
  null: (v) => v === null,
  number: isNumber,
  object: isDict,
  string: isStr,
};

function pyEqual(a, b) {
  if (isStr(a) || isStr(b)) return a === b;
  if (typeof a === "boolean" || typeof b === "boolean") return a === b;
  return isNumber(a) && isNumber(b) ? numEq(a, b) : a === b;
}

// Python's `$` (no MULTILINE) matches at the end or before a newline that ends the string.
function regex(pattern) {
  if (!patterns.has(pattern)) {
    if (!/^\^[^$]*\$$/.test(pattern)) throw new Error(`pattern ${pattern} is not ^...$`);
    patterns.set(pattern, new RegExp(`${pattern.slice(0, -1)}\\n?$`));
  }
  return patterns.get(pattern);
}

const KEYWORDS = {
  __proto__: null,
  type: (s, v) => [s].flat().some((t) => TYPES[t](v)),
  const: (s, v) => pyEqual(s, v),
  enum: (s, v) => s.some((e) => pyEqual(e, v)),
  pattern: (s, v) => !isStr(v) || regex(s).test(v),
  maxLength: (s, v) => !isStr(v) || pyLen(v) <= s,
  minItems: (s, v) => !Array.isArray(v) || v.length >= s,
  maxItems: (s, v) => !Array.isArray(v) || v.length <= s,
  minimum: (s, v) => !isNumber(v) || !numLt(v, BigInt(s)),
  maximum: (s, v) => !isNumber(v) || !numLt(BigInt(s), v),
  required: (s, v) => !isDict(v) || s.every((k) => has(v, k)),
  additionalProperties: (s, v, ctx) => {
    if (s !== false) throw new Error("only additionalProperties: false is supported");
    return !isDict(v) || Object.keys(v).every((k) => has(ctx.schema.properties ?? {}, k));
  },
  properties: (s, v, ctx) =>
    !isDict(v) || Object.keys(s).every((k) => !has(v, k) || valid(s[k], v[k], ctx.root)),
  items: (s, v, ctx) => !Array.isArray(v) || v.every((item) => valid(s, item, ctx.root)),
  oneOf: (s, v, ctx) => s.filter((sub) => valid(sub, v, ctx.root)).length === 1,
  $ref: (s, v, ctx) => {
    const [root, target] = resolve(s, ctx.root);
    return valid(target, v, root);
  },
};

function resolve(ref, root) {
  const [file, pointer] = ref.split("#");
  const base = file ? SCHEMAS.find((s) => s.$id.endsWith(`/${file}`)) : root;
  if (!base) throw new Error(`unknown schema ${file}`);
  const target = pointer
    .split("/")
    .slice(1)
    .reduce((node, part) => node[part], base);
  if (target === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return [base, target];
}

/** Whether value satisfies schema (a sub-schema of root). */
export function valid(schema, value, root = schema) {
  for (const [keyword, arg] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    const check = KEYWORDS[keyword];
    if (!Object.hasOwn(KEYWORDS, keyword))
      throw new Error(`JSON Schema keyword ${keyword} is not implemented`);
    if (!check(arg, value, { schema, root })) return false;
  }
  return true;
}

const SUBSCHEMAS = { items: (v) => [v], oneOf: (v) => v, $defs: Object.values, properties: Object.values };

/** Refuse, at load, any keyword of the three schemas that valid() would not understand. */
function audit(node) {
  for (const [k, v] of Object.entries(node)) {
    if (!ANNOTATIONS.has(k) && !Object.hasOwn(KEYWORDS, k))
      throw new Error(`JSON Schema keyword ${k} is not implemented`);
    if (Object.hasOwn(SUBSCHEMAS, k)) SUBSCHEMAS[k](v).forEach(audit);
  }
}

SCHEMAS.forEach(audit);

export const validBundle = (doc) => valid(PROOF_SCHEMA, doc);
export const validSnapshotProof = (doc) => valid(SNAPSHOT_PROOF_SCHEMA, doc);
export const validCollection = (doc) => valid(PROOFS_SCHEMA, doc);
