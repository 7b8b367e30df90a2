"""Bulk work over a whole tree held as levels (``merkle.build_levels``): every record's path at
once, for exports and for checking a whole-snapshot collection, where ``MerkleTree``'s
per-proof range arithmetic would dominate."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from provenance.merkle import HASH_LEN

try:  # the native walks are optional; the Python ones are their reference
    import provenance._sha256 as _native
except ImportError:  # pragma: no cover - exercised only where the extension was not built
    _native = None  # type: ignore[assignment]

native_path_digests: Callable[[Sequence[bytes], int, int], bytes] | None = getattr(
    _native, "path_digests", None
)
# a record's path as a collection writes it (provenance/proofs/collection_lines.py)
native_path_text_digest: Callable[[Any], bytes | None] | None = getattr(_native, "path_text_digest", None)


def inclusion_paths(
    levels: Sequence[bytes], start: int = 0, stop: int | None = None
) -> Iterator[list[bytes]]:
    """The inclusion path of each leaf ``start..stop`` in the full tree of ``levels`` (as
    :func:`build_levels` makes them): equal to ``inclusion_proof(i)``, but one sibling read per
    level instead of range arithmetic (~6x faster: an export proves every record). A promoted
    odd node has no sibling at its level, which RFC 9162's path skips too."""
    counts = [len(level) // HASH_LEN for level in levels[:-1]]
    size = len(levels[0]) // HASH_LEN if levels else 0
    for i in range(start, size if stop is None else stop):
        path = []
        j = i
        for level, count in zip(levels, counts, strict=False):
            s = j ^ 1
            if s < count:
                path.append(level[s * HASH_LEN : (s + 1) * HASH_LEN])
            j >>= 1
        yield path


def path_digests(levels: Sequence[bytes], start: int = 0, stop: int | None = None) -> bytes:
    """:func:`py_path_digests`, in C when the native hasher is built (~1 s of Python per million
    leaves, a whole-snapshot collection's last serial step before its verdict)."""
    size = len(levels[0]) // HASH_LEN if levels else 0
    stop = size if stop is None else min(stop, size)
    if native_path_digests is None or start >= stop:
        return py_path_digests(levels, start, stop)
    return native_path_digests(levels, start, stop)


def py_path_digests(levels: Sequence[bytes], start: int = 0, stop: int | None = None) -> bytes:
    """For each leaf ``start..stop``, SHA-256 of its inclusion path *top level first*, each hash
    written as a collection writes it (``0x`` and lowercase hex): 32 bytes per leaf, what
    :func:`path_digest` gives for one path. A file's paths are compared with these by digest, and
    a reader can take the digest of a path's text as it stands when it is written that way.

    Top first, leaves sharing an ancestor share the hash state of the path above it, so the
    tree is walked once, one ``copy`` and one ``update`` per node, instead of hashing every
    path in full (~5x faster per leaf; a whole-snapshot collection checks a million paths)."""
    size = len(levels[0]) // HASH_LEN if levels else 0
    stop = size if stop is None else stop
    if start >= stop:
        return b""
    counts = [len(level) // HASH_LEN for level in levels]
    top = len(levels) - 1
    out = bytearray()
    stack = [(top, 0, hashlib.sha256())]
    while stack:
        k, j, state = stack.pop()
        if k == 0:
            out += state.digest()
            continue
        for c in (2 * j + 1, 2 * j):  # pushed right first: leaves come out in order
            # the leaves under node c of level k-1 are [c << (k-1), (c + 1) << (k-1))
            if c >= counts[k - 1] or (c + 1) << (k - 1) <= start or c << (k - 1) >= stop:
                continue
            child = state.copy()
            s = c ^ 1
            if s < counts[k - 1]:
                child.update(b"0x" + levels[k - 1][s * HASH_LEN : (s + 1) * HASH_LEN].hex().encode())
            stack.append((k - 1, c, child))
    return bytes(out)


def path_digest(path: Sequence[bytes]) -> bytes:
    """The digest :func:`path_digests` computes, of one path (hashes bottom level first)."""
    return hashlib.sha256("".join("0x" + h.hex() for h in reversed(path)).encode()).digest()
