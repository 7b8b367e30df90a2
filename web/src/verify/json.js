// provenance/strict_json.py: the one JSON reader of every document handed to the verifier.
//
// Python reads a document twice: orjson first (refuses invalid UTF-8, lone surrogates, control
// characters, a BOM, nesting beyond 1024, numbers that overflow a double), then the json module
// (refuses duplicate member names; keeps big integers exact). JSON.parse would keep the last of
// duplicate names, round integers beyond 2^53 and forget that 7.0 was a float, so this is a
// small parser of its own that answers as that pair does.

import { ProvenanceError } from "./errors.js";
import { ORDER, PyFloat } from "./py.js";

export const MAX_DOCUMENT_BYTES = 16 << 20;
// CPython's json recursion stops near 992 levels from a shallow stack (sys.getrecursionlimit()
// 1000, less the frames below); the exact level moves with the caller's depth.
const MAX_NESTING = 990;
const SAFE = 2 ** 53 - 1;
const MAX_INT_DIGITS = 30;

const malformed = (why) => new ProvenanceError(`not valid JSON: ${why}`, "bundle.malformed");

/** strict_json.loads: text (a string or UTF-8 bytes) to a value, or FormatError. */
export function loads(input, maxBytes = MAX_DOCUMENT_BYTES) {
  const text = typeof input === "string" ? input : decode(input);
  const size = typeof input === "string" ? utf8Length(input) : input.byteLength;
  if (size > maxBytes) {
    throw new ProvenanceError(`document is larger than ${maxBytes} bytes`, "bundle.too-large");
  }
  if (!text.isWellFormed()) throw malformed("lone surrogate");
  const p = { text, at: 0, depth: 0 };
  skip(p);
  const value = parseValue(p);
  skip(p);
  if (p.at !== text.length) throw malformed(`unexpected content at character ${p.at}`);
  return value;
}

function decode(bytes) {
  try {
    // ignoreBOM keeps a BOM in the text, where the parser refuses it as orjson does
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw malformed("invalid UTF-8");
  }
}

function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function skip(p) {
  const t = p.text;
  while (p.at < t.length) {
    const c = t.charCodeAt(p.at);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
    p.at++;
  }
}

function parseValue(p) {
  const c = p.text[p.at];
  if (c === "{") return nested(p, parseObject);
  if (c === "[") return nested(p, parseArray);
  if (c === '"') return parseString(p);
  if (c === "-" || (c >= "0" && c <= "9")) return parseNumber(p);
  for (const [word, value] of [
    ["true", true],
    ["false", false],
    ["null", null],
  ]) {
    if (p.text.startsWith(word, p.at)) {
      p.at += word.length;
      return value;
    }
  }
  throw malformed(`unexpected character at ${p.at}`);
}

function nested(p, parse) {
  if (++p.depth > MAX_NESTING) throw malformed("JSON nested too deeply");
  const value = parse(p);
  p.depth--;
  return value;
}

function parseObject(p) {
  const obj = Object.create(null);
  const order = [];
  Object.defineProperty(obj, ORDER, { value: order });
  p.at++;
  skip(p);
  if (p.text[p.at] === "}") return (p.at++, obj);
  for (;;) {
    if (p.text[p.at] !== '"') throw malformed(`expected a member name at ${p.at}`);
    const key = parseString(p);
    if (Object.prototype.hasOwnProperty.call(obj, key)) throw malformed(`duplicate key '${key}'`);
    skip(p);
    expect(p, ":");
    skip(p);
    obj[key] = parseValue(p);
    order.push(key);
    skip(p);
    if (p.text[p.at] === "}") return (p.at++, obj);
    expect(p, ",");
    skip(p);
  }
}

function parseArray(p) {
  const out = [];
  p.at++;
  skip(p);
  if (p.text[p.at] === "]") return (p.at++, out);
  for (;;) {
    out.push(parseValue(p));
    skip(p);
    if (p.text[p.at] === "]") return (p.at++, out);
    expect(p, ",");
    skip(p);
  }
}

function expect(p, ch) {
  if (p.text[p.at] !== ch) throw malformed(`expected '${ch}' at ${p.at}`);
  p.at++;
}

const ESCAPES = {
  __proto__: null,
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

function parseString(p) {
  const t = p.text;
  let out = "";
  let run = ++p.at;
  for (;;) {
    if (p.at >= t.length) throw malformed("unterminated string");
    const c = t.charCodeAt(p.at);
    if (c === 0x22) break;
    if (c < 0x20) throw malformed(`control character in string at ${p.at}`);
    if (c !== 0x5c) {
      p.at++;
      continue;
    }
    out += t.slice(run, p.at) + parseEscape(p);
    run = p.at;
  }
  out += t.slice(run, p.at);
  p.at++;
  return out;
}

function parseEscape(p) {
  const e = p.text[p.at + 1];
  if (e !== "u") {
    if (e === undefined || !(e in ESCAPES)) throw malformed(`invalid escape at ${p.at}`);
    p.at += 2;
    return ESCAPES[e];
  }
  const unit = hex4(p);
  if (unit >= 0xdc00 && unit <= 0xdfff) throw malformed("lone low surrogate");
  if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
  if (p.text[p.at] !== "\\" || p.text[p.at + 1] !== "u") throw malformed("no low surrogate");
  const low = hex4(p);
  if (low < 0xdc00 || low > 0xdfff) throw malformed("invalid low surrogate");
  return String.fromCharCode(unit, low);
}

function hex4(p) {
  const digits = p.text.slice(p.at + 2, p.at + 6);
  if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw malformed(`invalid \\u escape at ${p.at}`);
  p.at += 6;
  return parseInt(digits, 16);
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

function parseNumber(p) {
  NUMBER.lastIndex = p.at;
  const m = NUMBER.exec(p.text);
  if (!m) throw malformed(`invalid number at ${p.at}`);
  p.at += m[0].length;
  const text = m[0];
  const value = Number(text);
  if (!Number.isFinite(value)) throw malformed("number is infinity when parsed as double");
  if (m[1] === undefined && m[2] === undefined) {
    // strict_json refuses integers longer than this (CPython would not convert 4,300 digits)
    if (text.replace("-", "").length > MAX_INT_DIGITS) throw malformed("an integer is outside ±(2^53-1)");
    return Math.abs(value) <= SAFE ? value + 0 : BigInt(text);
  }
  return Number.isInteger(value) ? new PyFloat(value) : value;
}
