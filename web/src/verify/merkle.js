// provenance/merkle.py: RFC 9162 verification (§2.1.3.2 inclusion, §2.1.4.2 consistency).
//
// SHA-256 here is noble's synchronous one: a path is a few dozen 65-byte hashes, where one
// WebCrypto digest() (a promise each) costs more than the hash, and a synchronous verifier
// keeps the port line by line with the Python.

import { sha256 } from "@noble/hashes/sha2.js";

import { concat, equal, toHex } from "./bytes.js";
import { ProvenanceError, PyError } from "./errors.js";
import { big, isFloat, numLe, numLt } from "./py.js";

export const HASH_LEN = 32;
export const MAX_TREE_SIZE = 2n ** 64n - 1n;
export const MAX_PROOF_LEN = 128;

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

export const hashLeaf = (data) => sha256(concat(LEAF, data));
export const hashChildren = (left, right) => sha256(concat(NODE, left, right));

const proofError = (message, code) => new ProvenanceError(message, code);

export function rootMismatch(expected, calculated) {
  return proofError(
    `calculated root ${toHex(calculated)} does not match expected root ${toHex(expected)}`,
    "proof.root-mismatch",
  );
}

function checkHash(value, what) {
  if (value.length !== HASH_LEN) {
    throw proofError(`${what} is ${value.length} bytes, expected 32`, "proof.bad-hash-length");
  }
}

function checkPath(path, what) {
  if (path.length > MAX_PROOF_LEN) {
    throw proofError(`${what} has ${path.length} hashes, more than any tree needs`, "proof.wrong-length");
  }
  path.forEach((h, i) => checkHash(h, `${what}[${i}]`));
}

function checkTreeSize(size, what) {
  if (!(numLe(0, size) && numLe(size, MAX_TREE_SIZE))) {
    throw proofError(`${what} ${size} is not a 64-bit unsigned integer`, "proof.bad-size");
  }
}

// Python shifts and masks index and size with >> and &, which raise TypeError on a float
// (JSON 3.0 is a float there); the loop's first step is where that happens.
function refuseFloats(...values) {
  if (values.some(isFloat)) throw new PyError("TypeError", "unsupported operand type(s) for &: 'float'");
}

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4). */
export function rootFromInclusionProof(leafHash, index, size, path) {
  checkTreeSize(size, "tree size");
  checkHash(leafHash, "leaf hash");
  checkPath(path, "inclusion path");
  if (!(numLe(0, index) && numLt(index, size))) {
    throw proofError(`leaf index ${index} is not below tree size ${size}`, "proof.index-out-of-range");
  }
  let fn = big(index);
  let sn = big(size) - 1n;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0n) throw proofError("inclusion path is longer than the tree is deep", "proof.wrong-length");
    refuseFloats(index, size);
    if (fn & 1n || fn === sn) {
      r = hashChildren(p, r);
      while (!(fn & 1n) && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      r = hashChildren(r, p);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  if (sn !== 0n) throw proofError("inclusion path is shorter than the tree is deep", "proof.wrong-length");
  return r;
}

/** Check that leafHash is leaf index of the tree of size with root. */
export function verifyInclusion(leafHash, index, size, path, root) {
  checkHash(root, "root");
  const calculated = rootFromInclusionProof(leafHash, index, size, path);
  if (!equal(calculated, root)) throw rootMismatch(root, calculated);
}

/** Check that the tree (size2, root2) extends (size1, root1) (RFC 9162 §2.1.4.2). */
export function verifyConsistency(size1, size2, root1, root2, proof) {
  checkTreeSize(size1, "size1");
  checkTreeSize(size2, "size2");
  checkHash(root1, "root1");
  checkHash(root2, "root2");
  checkPath(proof, "consistency proof");
  if (numLt(size2, size1)) throw proofError(`size1 ${size1} is larger than size2 ${size2}`, "proof.bad-size");
  if (big(size1) === big(size2)) {
    if (proof.length) throw proofError("a proof between equal sizes must be empty", "proof.wrong-length");
    if (!equal(root1, root2)) throw rootMismatch(root2, root1);
    return;
  }
  if (big(size1) === 0n) {
    if (proof.length) throw proofError("a proof from the empty tree must be empty", "proof.wrong-length");
    return;
  }
  if (!proof.length) throw proofError("consistency proof is empty", "proof.wrong-length");
  const [fr, sr] = consistencyRoots(big(size1), big(size2), root1, proof);
  if (!equal(fr, root1)) throw rootMismatch(root1, fr);
  if (!equal(sr, root2)) throw rootMismatch(root2, sr);
}

function consistencyRoots(size1, size2, root1, proof) {
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : [...proof];
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while (fn & 1n) [fn, sn] = [fn >> 1n, sn >> 1n];
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw proofError("consistency proof is too long", "proof.wrong-length");
    if (fn & 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!(fn & 1n) && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      sr = hashChildren(sr, c);
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  if (sn !== 0n) throw proofError("consistency proof is too short", "proof.wrong-length");
  return [fr, sr];
}
