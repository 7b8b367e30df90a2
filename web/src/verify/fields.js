// provenance/fields.py and provenance/datasets.py: typed fields of the signed formats.

import { fromHex, utf8 } from "./bytes.js";
import { ProvenanceError } from "./errors.js";
import { keccak256 } from "./evm.js";
import { big, isInt, isStr } from "./py.js";

export const UINT64_MAX = 2n ** 64n - 1n;
export const ZERO32 = new Uint8Array(32);
const NAME = /^[a-z0-9][a-z0-9._/-]{0,127}$/;

const malformed = (message) => new ProvenanceError(message, "manifest.malformed");

export function hexbytes(value, what) {
  if (!isStr(value) || !value.startsWith("0x")) throw malformed(`${what} must be a 0x-prefixed hex string`);
  try {
    return fromHex(value.slice(2));
  } catch {
    throw malformed(`${what} is not valid hex`);
  }
}

export function bytes32(value, what) {
  const out = hexbytes(value, what);
  if (out.length !== 32) throw malformed(`${what} must be 32 bytes`);
  return out;
}

export function checkUint64(value, what, minimum = 0n) {
  if (!isInt(value) || big(value) < minimum || big(value) > UINT64_MAX) {
    throw malformed(`${what} must be an integer in [${minimum}, 2^64-1]`);
  }
}

export function checkDatasetName(name) {
  if (!isStr(name) || !NAME.test(name)) {
    throw new ProvenanceError(
      `dataset name ${name} must match ^[a-z0-9][a-z0-9._/-]{0,127}$`,
      "manifest.bad-dataset-name",
    );
  }
  return name;
}

/** keccak256(utf8(name)). */
export const datasetId = (name) => keccak256(utf8(checkDatasetName(name)));
