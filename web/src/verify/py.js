// Python's value semantics where the verifier's answer depends on them.
//
// The JSON parser (json.js) keeps what Python's json module would see: an integer literal is an
// int (a JS number within ±(2^53-1), a BigInt beyond), a literal with a fraction or exponent is
// a float (a JS number, or a PyFloat when its value is integral, since 7.0 and 7 are different
// things to Python: check_uint64 refuses 7.0 and bit operations on it raise TypeError, while
// JSON Schema's "integer" accepts it).

import { PyError } from "./errors.js";

export class PyFloat {
  constructor(value) {
    this.value = value;
  }
  valueOf() {
    return this.value;
  }
  // canonicalize() and JSON.stringify() unwrap toJSON: RFC 8785 writes 7.0 as 7, as rfc8785 does.
  toJSON() {
    return this.value;
  }
}

/** Parsed objects remember their members' order: Python dicts keep it, JS objects do not quite. */
export const ORDER = Symbol("member order");

export const isInt = (v) => typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));
export const isFloat = (v) => v instanceof PyFloat || (typeof v === "number" && !Number.isInteger(v));
export const isNumber = (v) => isInt(v) || isFloat(v);
/** JSON Schema's "integer" as python-jsonschema reads it: an int or an integral float. */
export const isIntegral = (v) => isInt(v) || v instanceof PyFloat;
export const isDict = (v) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof PyFloat);
export const isStr = (v) => typeof v === "string";
export const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);
export const get = (obj, key, fallback = undefined) => (has(obj, key) ? obj[key] : fallback);

/** The exact integer value of an integral number. */
export function big(v) {
  if (typeof v === "bigint") return v;
  return BigInt(v instanceof PyFloat ? v.value : v);
}

/** Python's == between two numbers (exact across int and float). */
export function numEq(a, b) {
  if (!isNumber(a) || !isNumber(b)) return a === b;
  if (isIntegral(a) && isIntegral(b)) return big(a) === big(b);
  return Number(a) === Number(b);
}

/** Python's < between two numbers (exact across int and float). */
export function numLt(a, b) {
  if (!isNumber(a) || !isNumber(b)) throw new PyError("TypeError", "'<' not supported");
  if (isIntegral(a) && isIntegral(b)) return big(a) < big(b);
  return Number(a) < Number(b);
}

export const numLe = (a, b) => !numLt(b, a);

/** A dictionary key under which Python would find the same entry (1 and 1.0 collide). */
export function numKey(v) {
  return isIntegral(v) ? big(v).toString() : `f${Number(v)}`;
}

/** Python's repr() of a float. */
export function floatRepr(x) {
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  const point = exp + 1;
  if (point > 16 || point <= -4) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Python's str() of a JSON value as an f-string shows it. */
export function pyStr(v) {
  if (typeof v === "string") return v;
  return pyRepr(v);
}

/** Python's repr() of a JSON value. */
export function pyRepr(v) {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return reprStr(v);
  if (isInt(v)) return String(v);
  if (isFloat(v)) return floatRepr(Number(v));
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  const keys = v[ORDER] ?? Object.keys(v);
  return `{${keys.map((k) => `${reprStr(k)}: ${pyRepr(v[k])}`).join(", ")}}`;
}

const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** str.isprintable() of one character. */
export const charPrintable = (ch) => ch === " " || !NOT_PRINTABLE.test(ch);
/** str.isprintable(). */
export const isPrintable = (s) => [...s].every(charPrintable);

// str.isspace(): bidirectional class WS, B or S, or category Zs.
const PY_SPACE =
  "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" +
  "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
export const isSpaceChar = (ch) => PY_SPACE.includes(ch);

/** str.strip() with no argument. */
export function pyStrip(s) {
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && isSpaceChar(chars[a])) a++;
  while (b > a && isSpaceChar(chars[b - 1])) b--;
  return chars.slice(a, b).join("");
}

/** str.split(sep, maxsplit). */
export function pySplit(s, sep, maxsplit = -1) {
  const parts = s.split(sep);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
}

/** len() of a str: code points, not UTF-16 units. */
export function pyLen(s) {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function reprStr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) out += reprChar(ch, quote);
  return out + quote;
}

function reprChar(ch, quote) {
  const cp = ch.codePointAt(0);
  if (ch === quote || ch === "\\") return `\\${ch}`;
  if (ch === "\t") return "\\t";
  if (ch === "\n") return "\\n";
  if (ch === "\r") return "\\r";
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp < 0x7f || charPrintable(ch)) return ch;
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`;
  return cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
}

const hex = (n, width) => n.toString(16).padStart(width, "0");

/** list[i] as Python indexes: a float index is a TypeError. */
export function pyIndex(list, i) {
  if (!isInt(i)) throw new PyError("TypeError", "list indices must be integers or slices, not float");
  return list[Number(i)];
}
