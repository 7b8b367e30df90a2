// Bytes as Python's standard library reads and writes them: bytes.fromhex, base64.b64decode(...,
// validate=True) of Python 3.11 (binascii.a2b_base64 in strict mode), hex and base64 output.

import { PyError } from "./errors.js";

const encoder = new TextEncoder();

export const utf8 = (s) => encoder.encode(s);

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export const hexStr = (bytes) => `0x${toHex(bytes)}`;

export function bytesToBig(bytes) {
  return bytes.length ? BigInt(`0x${toHex(bytes)}`) : 0n;
}

export function bigToBytes(value, length = 32) {
  const hex = value.toString(16).padStart(length * 2, "0");
  if (hex.length > length * 2) throw new PyError("OverflowError", "int too big to convert");
  return fromHex(hex);
}

// Py_ISSPACE: the ASCII whitespace bytes.fromhex() skips between byte pairs.
const ASCII_SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}
const nibble = (text, i) => (i < text.length ? (NIBBLE[text.charCodeAt(i)] ?? -1) : -1);

/** bytes.fromhex(): pairs of hex digits, ASCII whitespace allowed between pairs. */
export function fromHex(text) {
  const out = new Uint8Array(text.length >> 1);
  let n = 0;
  for (let i = 0; ; i += 2) {
    while (i < text.length && ASCII_SPACE.has(text.charCodeAt(i))) i++;
    if (i >= text.length) break;
    const hi = nibble(text, i);
    const lo = nibble(text, i + 1);
    if (hi < 0 || lo < 0) {
      throw new PyError("ValueError", `non-hexadecimal number found in fromhex() arg at position ${i}`);
    }
    out[n++] = (hi << 4) | lo;
  }
  return out.slice(0, n);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** binascii.Error: a subclass of ValueError that checkpoint.py catches by name. */
export class BinasciiError extends PyError {
  constructor(message) {
    super("binascii.Error", message);
  }
}

/** base64.b64decode(text, validate=True) of Python 3.11. */
export function b64decode(text) {
  if (/[^\x00-\x7f]/.test(text)) {
    // raised before binascii sees the text: a ValueError, not a binascii.Error
    throw new PyError("ValueError", "string argument should contain only ASCII characters");
  }
  if (text.startsWith("=")) throw new BinasciiError("Leading padding not allowed");
  const state = { out: [], quad: 0, left: 0, pads: 0, padding: false };
  for (let i = 0; i < text.length; i++) {
    if (b64Step(state, text, i)) return Uint8Array.from(state.out);
  }
  if (state.quad === 1) throw new BinasciiError("Invalid base64-encoded string: number of data characters");
  if (state.quad !== 0) throw new BinasciiError("Incorrect padding");
  return Uint8Array.from(state.out);
}

/** One character of a2b_base64; true when a complete padding ends the data. */
function b64Step(st, text, i) {
  const ch = text[i];
  if (ch === "=") {
    st.padding = true;
    if (st.quad >= 2 && st.quad + ++st.pads >= 4) {
      if (i + 1 < text.length) throw new BinasciiError("Excess data after padding");
      return true;
    }
    return false;
  }
  const v = ALPHABET.indexOf(ch);
  if (v < 0) throw new BinasciiError("Only base64 data is allowed");
  if (st.padding) throw new BinasciiError("Discontinuous padding not allowed");
  st.pads = 0;
  const q = st.quad;
  if (q > 0) st.out.push(((st.left << (2 * q)) | (v >> (6 - 2 * q))) & 0xff);
  st.left = q === 0 ? v : v & ((1 << (6 - 2 * q)) - 1);
  st.quad = (q + 1) % 4;
  return false;
}

export function b64encode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? ALPHABET[n & 63] : "=";
  }
  return out;
}
