// A collection or a bundle's upstream repeats one manifest per record, and a log key signs every
// checkpoint: curve arithmetic of the same inputs is done once (bounded, pure functions only).

import { toHex } from "./bytes.js";

export function memoBytes(fn, size = 512) {
  const cache = new Map();
  return (...args) => {
    const key = args.map(toHex).join(":");
    if (cache.has(key)) return cache.get(key);
    const value = fn(...args);
    if (cache.size >= size) cache.delete(cache.keys().next().value);
    cache.set(key, value);
    return value;
  };
}
