// provenance/checkpoint.py: C2SP signed notes and tlog-checkpoints under an Ed25519 log key.

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";

import { BinasciiError, b64decode, b64encode, bytesToBig, concat, equal, fromHex, utf8 } from "./bytes.js";
import { ProvenanceError } from "./errors.js";
import { memoBytes } from "./memo.js";
import { isPrintable, isSpaceChar, pySplit, pyStrip } from "./py.js";

const ED25519 = 0x01;
const MAX_NOTE_BYTES = 1 << 16;
const MAX_SIGNATURES = 100;
const EM_DASH = "\u2014 ";
const DECIMAL = /^(?:0|[1-9][0-9]{0,19})$/;

const bad = (reason) => new ProvenanceError(`malformed checkpoint: ${reason}`, "checkpoint.malformed");
const badKey = (message) => new ProvenanceError(message, "checkpoint.bad-key");

function checkKeyName(name) {
  if (!name || [...name].some(isSpaceChar) || name.includes("+") || !isPrintable(name)) {
    throw bad(`key name ${name} must be non-empty, printable, without spaces or '+'`);
  }
}

/** C2SP signed-note key id of an Ed25519 key. */
export const keyId = (name, publicKey) =>
  sha256(concat(utf8(name), Uint8Array.of(0x0a, ED25519), publicKey)).subarray(0, 4);

/** LogVerifier.parse: `<name>+<hex key id>+<base64(0x01 || key)>`. */
export function parseVerifierKey(text) {
  const parts = pySplit(pyStrip(text), "+", 2);
  if (parts.length !== 3) throw badKey("verifier key must be <name>+<hex id>+<base64 key>");
  const [name, hexId, b64] = parts;
  checkKeyName(name);
  let kid;
  let raw;
  try {
    kid = fromHex(hexId);
    raw = b64decode(b64);
  } catch {
    throw badKey("verifier key id or key is not valid hex/base64");
  }
  if (kid.length !== 4 || raw.length !== 33 || raw[0] !== ED25519 || b64encode(raw) !== b64) {
    throw badKey("verifier key must be a 4-byte id and an Ed25519 key");
  }
  if (!equal(keyId(name, raw.subarray(1)), kid))
    throw badKey("verifier key id does not match its name and key");
  return { name, keyId: kid, publicKey: raw.subarray(1) };
}

/** LogVerifier.verify: the checkpoint in note, which must carry a valid signature by this key. */
export function verifyNote(verifier, note) {
  const [body, signatures] = parseNote(note);
  const mine = signatures.filter((s) => s.name === verifier.name && equal(s.keyId, verifier.keyId));
  if (!mine.length) {
    throw new ProvenanceError(
      `checkpoint has no signature by log key ${verifier.name}`,
      "checkpoint.unsigned",
    );
  }
  if (!ed25519Verify(verifier.publicKey, mine[0].signature, utf8(body))) {
    throw new ProvenanceError("checkpoint signature does not verify", "checkpoint.bad-signature");
  }
  return parseCheckpoint(body);
}

/** Split a C2SP signed note into its signed text and its signature lines. */
export function parseNote(note) {
  if (typeof note !== "string") throw bad("note must be text");
  const raw = utf8(note);
  if (raw.length > MAX_NOTE_BYTES) throw bad(`note is longer than ${MAX_NOTE_BYTES} bytes`);
  if (raw.some((c) => c < 0x20 && c !== 0x0a)) throw bad("note contains control characters");
  if (!note.endsWith("\n")) throw bad("note must end with a newline");
  const split = note.indexOf("\n\n");
  if (split < 0) throw bad("no blank line between the text and its signatures");
  return [note.slice(0, split + 1), parseSignatures(note.slice(split + 2))];
}

function parseSignatures(text) {
  let lines = text.split("\n");
  if (lines[lines.length - 1] !== "") throw bad("signature lines must end with a newline");
  lines = lines.slice(0, -1);
  if (!lines.length) throw bad("no signature lines");
  if (lines.length > MAX_SIGNATURES) throw bad(`more than ${MAX_SIGNATURES} signatures`);
  return lines.map(parseSignatureLine);
}

function parseSignatureLine(line) {
  if (!line.startsWith(EM_DASH)) throw bad("signature line must start with an em dash and a space");
  const fields = line.slice(EM_DASH.length).split(" ");
  if (fields.length !== 2) throw bad("signature line must be '— <name> <base64>'");
  const [name, b64] = fields;
  checkKeyName(name);
  // only binascii.Error is a malformed note: a non-ASCII character raises a ValueError that
  // checkpoint.py does not catch, and the check reports checkpoint-signature.error
  const blob = catchBinascii(() => b64decode(b64), "signature is not base64");
  if (b64encode(blob) !== b64) throw bad("signature must be canonical base64");
  if (blob.length < 5) throw bad("signature is shorter than a key id");
  return { name, keyId: blob.subarray(0, 4), signature: blob.subarray(4) };
}

function catchBinascii(fn, reason) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BinasciiError) throw bad(reason);
    throw e;
  }
}

/** The checkpoint in a note's signed text (C2SP tlog-checkpoint). */
export function parseCheckpoint(body) {
  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) throw bad("a checkpoint needs origin, size and root lines");
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!DECIMAL.test(sizeText) || BigInt(sizeText) >= 2n ** 64n) {
    throw bad(`size ${sizeText} is not a decimal 64-bit integer without leading zeros`);
  }
  const root = catchBinascii(() => b64decode(rootText), "root is not base64");
  if (root.length !== 32 || b64encode(root) !== rootText)
    throw bad("root must be the canonical base64 of 32 bytes");
  if (!origin || origin.includes("\n") || !isPrintable(origin))
    throw bad("origin must be one non-empty printable line");
  for (const ext of extensions) {
    if (!ext || ext.includes("\n") || !isPrintable(ext)) {
      throw bad("extension lines must be non-empty printable lines");
    }
  }
  const size = BigInt(sizeText);
  return { origin, size: size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : size, root, extensions };
}

// --- Ed25519 as OpenSSL verifies it ----------------------------------------------------------
//
// Python verifies with `cryptography`, that is OpenSSL: S must be below the group order, the
// key's y is taken mod p and any x = 0 sign bit is accepted, and the cofactorless equation is
// checked by comparing the encoding of [S]B - [k]A with R byte for byte. noble's verify() is
// cofactored and, strictly, refuses small-order keys; the two differ only on crafted keys and
// signatures, but this is a verifier, so it computes what OpenSSL computes.

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;

const ed25519Verify = memoBytes(openSslVerify);

function openSslVerify(publicKey, signature, message) {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const r = signature.subarray(0, 32);
  const s = bytesToLittle(signature.subarray(32));
  if (s >= L) return false;
  let A;
  try {
    A = Point.fromBytes(reduceY(publicKey), true);
  } catch {
    return false;
  }
  const k = bytesToLittle(sha512(concat(r, publicKey, message))) % L;
  const R = Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
  return equal(R.toBytes(), r);
}

function bytesToLittle(bytes) {
  return bytesToBig(Uint8Array.from(bytes).reverse());
}

/** The key with y reduced mod p (OpenSSL's fe_frombytes), keeping the sign bit. */
function reduceY(publicKey) {
  const sign = publicKey[31] & 0x80;
  const y = bytesToLittle(Uint8Array.from(publicKey, (b, i) => (i === 31 ? b & 0x7f : b))) % P;
  const out = new Uint8Array(32);
  let v = y;
  for (let i = 0; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  out[31] |= sign;
  return out;
}
