// provenance/evm.py: keccak-256, EIP-55 addresses, EIP-712 hashing, secp256k1 signer recovery.

import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

import { bigToBytes, bytesToBig, concat, fromHex, toHex, utf8 } from "./bytes.js";
import { PyError } from "./errors.js";
import { memoBytes } from "./memo.js";

export const keccak256 = (data) => keccak_256(data);

/** EIP-55 mixed-case form of a 0x-prefixed 20-byte hex address (ValueError otherwise). */
export function checksumAddress(address) {
  const raw = address.toLowerCase().slice(2);
  if (!address.startsWith("0x") || !/^[0-9a-f]{40}$/.test(raw)) {
    throw new PyError("ValueError", `${address} is not a 20-byte hex address`);
  }
  const digest = toHex(keccak256(utf8(raw)));
  let out = "0x";
  for (let i = 0; i < 40; i++) out += parseInt(digest[i], 16) >= 8 ? raw[i].toUpperCase() : raw[i];
  return out;
}

// --- EIP-712 ---------------------------------------------------------------------------------

function dependencies(name, types, seen = new Set()) {
  if (seen.has(name) || !(name in types)) return seen;
  seen.add(name);
  for (const f of types[name]) dependencies(f.type.replace(/\[\]$/, ""), types, seen);
  return seen;
}

const typeString = (name, types) => `${name}(${types[name].map((f) => `${f.type} ${f.name}`).join(",")})`;

/** encodeType: the primary type, then every referenced struct type sorted by name. */
export function encodeType(primary, types) {
  const deps = [...dependencies(primary, types)].filter((t) => t !== primary).sort();
  return utf8([primary, ...deps].map((t) => typeString(t, types)).join(""));
}

// typeHash depends on the types alone: one keccak per type, not one per struct hashed
const typeHashes = new WeakMap();

function typeHash(primary, types) {
  if (!typeHashes.has(types)) typeHashes.set(types, new Map());
  const cache = typeHashes.get(types);
  if (!cache.has(primary)) cache.set(primary, keccak256(encodeType(primary, types)));
  return cache.get(primary);
}

/** hashStruct(s) = keccak256(typeHash || encodeData(s)). */
export function hashStruct(primary, data, types) {
  const encoded = [typeHash(primary, types)];
  for (const f of types[primary]) encoded.push(encodeValue(f.type, data[f.name], types));
  return keccak256(concat(...encoded));
}

function encodeValue(kind, value, types) {
  if (kind.endsWith("[]"))
    return keccak256(concat(...value.map((v) => encodeValue(kind.slice(0, -2), v, types))));
  if (kind in types) return hashStruct(kind, value, types);
  if (kind === "string") return keccak256(utf8(value));
  if (kind === "bytes32") {
    if (value.length !== 32) throw new PyError("ValueError", "bytes32 value must be 32 bytes");
    return value;
  }
  if (kind === "address") return concat(new Uint8Array(12), fromHex(value.replace(/^0x/, "")));
  if (kind.startsWith("uint")) {
    const n = BigInt(value);
    if (n < 0n || n >= 2n ** BigInt(kind.slice(4) || 256))
      throw new PyError("ValueError", `${n} does not fit ${kind}`);
    return bigToBytes(n);
  }
  throw new PyError("ValueError", `EIP-712 type ${kind} is not used by this project`);
}

/** keccak256(0x1901 || hashStruct(domain) || hashStruct(message)) of a typed-data document. */
export function typedDataDigest(typed) {
  const { types } = typed;
  const domain = hashStruct("EIP712Domain", typed.domain, types);
  return keccak256(
    concat(Uint8Array.of(0x19, 0x01), domain, hashStruct(typed.primaryType, typed.message, types)),
  );
}

// --- secp256k1 -------------------------------------------------------------------------------

/** The checksummed address whose key signed digest (65-byte r || s || v, v in {27, 28}). */
export const recoverAddress = memoBytes(recover);

function recover(digest, signature) {
  if (signature.length !== 65 || (signature[64] !== 27 && signature[64] !== 28)) {
    throw new PyError("ValueError", "signature must be 65 bytes with v 27 or 28");
  }
  const r = bytesToBig(signature.subarray(0, 32));
  const s = bytesToBig(signature.subarray(32, 64));
  const sig = new secp256k1.Signature(r, s, signature[64] - 27);
  const point = sig.recoverPublicKey(digest);
  const uncompressed = point.toBytes(false);
  return checksumAddress(`0x${toHex(keccak256(uncompressed.subarray(1)).subarray(12))}`);
}
