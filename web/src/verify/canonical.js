// provenance/records/canonical.py: RFC 8785 text of entries and record keys.
//
// canonicalize() writes the same bytes as Python's rfc8785 for every value both accept, but
// accepts more: it nests without limit where Python refuses beyond 64 levels (input.too-deep),
// and Python refuses integers beyond ±(2^53-1) (input.unsafe-integer; they arrive here as
// BigInt, on which canonicalize would throw a TypeError of its own). Both are refused first,
// with Python's CanonicalError, so that every caller fails where Python's does.

import canonicalize from "canonicalize";

import { CanonicalError, PyError } from "./errors.js";
import { PyFloat, isDict } from "./py.js";

const MAX_DEPTH = 64;

/** RFC 8785 text of a JSON value, or CanonicalError as canonical() raises it. */
export function canonical(value) {
  let unsafe = false;
  const stack = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop();
    if (depth > MAX_DEPTH)
      throw new CanonicalError(`nested deeper than ${MAX_DEPTH} levels`, "input.too-deep");
    if (typeof item === "bigint") unsafe = true;
    // canonical.py: RFC 8785 writes 1e16 as an integer beyond 2^53, which reads back unsafe
    else if (item instanceof PyFloat && Number.isInteger(item.value) && Math.abs(item.value) > Number.MAX_SAFE_INTEGER && Math.abs(item.value) < 1e21) {
      unsafe = true;
    }
    else if (typeof item === "string" && !item.isWellFormed()) {
      throw new CanonicalError("invalid Unicode (lone surrogate)", "input.invalid-utf8");
    } else if (Array.isArray(item) || isDict(item)) {
      for (const v of Object.values(item)) stack.push([v, depth + 1]);
    }
  }
  if (unsafe) {
    throw new CanonicalError("integer is outside ±(2^53-1); write it as a string", "input.unsafe-integer");
  }
  return canonicalize(value);
}

/** Text form of a record key: RFC 8785 of the list of key values. */
export const keyText = (values) => canonical([...values]);

/** rfc8785.dumps() as transform and schema hashes call it: no depth limit, but integers beyond
 * ±(2^53-1) raise its IntegerDomainError (a ValueError, so the check reports `<check>.error`). */
export function rfc8785(value) {
  const stack = [value];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item === "bigint") throw new PyError("IntegerDomainError", `${item} is out of range`);
    if (Array.isArray(item) || isDict(item)) for (const v of Object.values(item)) stack.push(v);
  }
  return canonicalize(value);
}
