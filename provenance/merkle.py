"""RFC 9162 Merkle trees (SHA-256): build, prove, verify.

The tree is the one of RFC 9162 §2.1.1: ``MTH({}) = SHA-256()``, leaves hashed as
``SHA-256(0x00 || d)``, nodes as ``SHA-256(0x01 || left || right)``, split at the largest power
of two smaller than ``n``; odd nodes are promoted, never duplicated.

Levels are kept (level 0 = leaf hashes) so a proof needs O(log n) node reads. Node ``j`` of
level ``k`` is ``MTH(D[j*2^k : min((j+1)*2^k, n)])``; every node RFC 9162's recursive definitions
need is such a stored node or, for smaller trees, the right fold of a few of them. Where levels
live (memory, a file, a database) is behind the :class:`NodeSource` seam. Verification follows
RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and compares hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Protocol

from provenance.errors import ProofError, RootMismatchError

_native: ModuleType | None
try:  # the native loops are optional; the pure code below is the reference
    import provenance._sha256 as _native
except ImportError:  # pragma: no cover - exercised only where the extension was not built
    _native = None

HASH_LEN = 32
MAX_TREE_SIZE = 2**64 - 1
MAX_PROOF_LEN = 128  # a consistency proof of a 2^64 tree needs < 2 * 64 hashes
EMPTY_ROOT = hashlib.sha256(b"").digest()
NATIVE = _native is not None

_LEAF = b"\x00"
_NODE = b"\x01"
_sha256 = hashlib.sha256
# Below this many pairs a second thread costs more than it saves.
_THREAD_MIN_PAIRS = 1 << 16


def hash_leaf(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE + left + right).digest()


def leaf_hashes(leaf_inputs: Sequence[bytes]) -> bytes:
    """Concatenated leaf hashes of ``leaf_inputs`` (32 bytes each)."""
    if _native is not None:
        return bytes(_native.leaf_hashes(leaf_inputs))
    return b"".join([_sha256(_LEAF + d).digest() for d in leaf_inputs])


def parent_level(level: bytes, *, threads: int = 1) -> bytes:
    """The level above ``level`` (concatenated 32-byte hashes); an odd last node is promoted.

    With ``threads > 1`` and the native extension, the pairs are split across threads that
    hash without the GIL.
    """
    count = len(level) // HASH_LEN
    pairs = count // 2
    if _native is None:
        out = b"".join(
            [
                _sha256(_NODE + level[i : i + 2 * HASH_LEN]).digest()
                for i in range(0, pairs * 2 * HASH_LEN, 2 * HASH_LEN)
            ]
        )
    elif threads > 1 and pairs >= _THREAD_MIN_PAIRS:
        bounds = [pairs * t // threads for t in range(threads + 1)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = pool.map(lambda t: _native.parent_hashes(level, bounds[t], bounds[t + 1]), range(threads))
            out = b"".join(parts)
    else:
        out = _native.parent_hashes(level, 0, pairs)
    if count % 2:
        out += level[-HASH_LEN:]
    return out


def build_levels(level0: bytes, *, threads: int = 1) -> list[bytes]:
    """All levels of the tree over the given leaf hashes, leaves first, root level last."""
    if len(level0) % HASH_LEN:
        raise ProofError("leaf hash buffer is not a multiple of 32 bytes", code="proof.bad-hash-length")
    levels = [level0]
    while len(levels[-1]) > HASH_LEN:
        levels.append(parent_level(levels[-1], threads=threads))
    return levels


def level_sizes(size: int) -> list[int]:
    """Node counts per level of a tree of ``size`` leaves (leaves first)."""
    sizes = [size] if size else []
    while sizes and sizes[-1] > 1:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


class NodeSource(Protocol):
    """Where a tree's levels are kept. ``nodes`` reads several stored nodes in one go."""

    @property
    def size(self) -> int:
        """Number of leaves."""
        ...

    def nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        """Hashes of stored nodes ``(level, index)``, in the order asked."""
        ...


class MemoryLevels:
    """A :class:`NodeSource` over levels held in memory as concatenated hashes."""

    def __init__(self, levels: list[bytes]) -> None:
        self.levels = levels

    @property
    def size(self) -> int:
        return len(self.levels[0]) // HASH_LEN if self.levels else 0

    def nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        levels = self.levels
        return [levels[k][i * HASH_LEN : (i + 1) * HASH_LEN] for k, i in coords]


class MerkleTree:
    """An RFC 9162 tree over a :class:`NodeSource`; proofs for this size or any smaller one."""

    def __init__(self, source: NodeSource) -> None:
        self.source = source

    @classmethod
    def from_leaf_inputs(cls, leaf_inputs: Sequence[bytes], *, threads: int = 1) -> MerkleTree:
        """Tree over the given leaf inputs (hashed with the 0x00 prefix)."""
        return cls.from_leaf_hashes(leaf_hashes(leaf_inputs), threads=threads)

    @classmethod
    def from_leaf_hashes(cls, hashes: bytes | Iterable[bytes], *, threads: int = 1) -> MerkleTree:
        """Tree over leaf hashes given concatenated or as 32-byte items."""
        level0 = hashes if isinstance(hashes, bytes) else b"".join(_checked_hashes(hashes))
        if not level0:
            return cls(MemoryLevels([]))
        return cls(MemoryLevels(build_levels(level0, threads=threads)))

    @property
    def size(self) -> int:
        return self.source.size

    @property
    def root(self) -> bytes:
        return self.root_at(self.size)

    def root_at(self, size: int) -> bytes:
        """Root of the tree over the first ``size`` leaves."""
        _check_size(size, self.size)
        if size == 0:
            return EMPTY_ROOT
        return self._range_hashes([(0, size)])[0]

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise ProofError(
                f"leaf index {index} out of range for size {self.size}", code="proof.index-out-of-range"
            )
        return self.source.nodes([(0, index)])[0]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH for leaf ``index`` in the tree of ``size`` (default: all)."""
        size = self.size if size is None else size
        _check_size(size, self.size)
        if not 0 <= index < size:
            raise ProofError(
                f"leaf index {index} out of range for size {size}", code="proof.index-out-of-range"
            )
        return self._range_hashes(_inclusion_ranges(index, size))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF between the trees of ``size1`` and ``size2`` leaves."""
        size2 = self.size if size2 is None else size2
        _check_size(size2, self.size)
        if not 0 <= size1 <= size2:
            raise ProofError(f"size1 {size1} is larger than size2 {size2}", code="proof.bad-size")
        if size1 in (0, size2):
            return []
        return self._range_hashes(_consistency_ranges(size1, size2))

    def _range_hashes(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        plans = [_range_coords(a, b, self.size) for a, b in ranges]
        wanted = sorted({c for plan in plans for c in plan})
        fetched = dict(zip(wanted, self.source.nodes(wanted), strict=True))
        out = []
        for plan in plans:
            acc = fetched[plan[-1]]
            for coord in reversed(plan[:-1]):
                acc = hash_children(fetched[coord], acc)
            out.append(acc)
        return out


def _checked_hashes(hashes: Iterable[bytes]) -> Iterable[bytes]:
    for h in hashes:
        if len(h) != HASH_LEN:
            raise ProofError(f"leaf hash of {len(h)} bytes, expected 32", code="proof.bad-hash-length")
        yield h


def _check_size(size: int, stored: int) -> None:
    if not 0 <= size <= stored:
        raise ProofError(f"tree size {size} is not within the stored size {stored}", code="proof.bad-size")


def _largest_power_of_two_below(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (requires n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_coords(a: int, b: int, stored: int) -> list[tuple[int, int]]:
    """Stored nodes whose right fold is ``MTH(D[a:b])``.

    Requires ``[a, b)`` to be a node of the RFC 9162 tree over ``D[:m]`` for some
    ``m <= stored``; then ``a`` is a multiple of the smallest power of two >= ``b - a``.
    """
    coords = []
    while True:
        width = b - a
        k = (width - 1).bit_length()
        if width == 1 << k or b == stored:
            coords.append((k, a >> k))
            return coords
        coords.append((k - 1, a >> (k - 1)))
        a += 1 << (k - 1)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def _consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    ranges = []
    lo, hi, complete = 0, n, True
    while True:
        width = hi - lo
        if m == width:
            if not complete:
                ranges.append((lo, hi))
            break
        k = _largest_power_of_two_below(width)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            m -= k
            lo += k
            complete = False
    ranges.reverse()
    return ranges


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_LEN:
        raise ProofError(f"{what} is {len(value)} bytes, expected 32", code="proof.bad-hash-length")


def _check_path(path: Sequence[bytes], what: str) -> None:
    if len(path) > MAX_PROOF_LEN:
        raise ProofError(
            f"{what} has {len(path)} hashes, more than any tree needs", code="proof.wrong-length"
        )
    for i, h in enumerate(path):
        _check_hash(h, f"{what}[{i}]")


def _check_tree_size(size: int, what: str) -> None:
    if not 0 <= size <= MAX_TREE_SIZE:
        raise ProofError(f"{what} {size} is not a 64-bit unsigned integer", code="proof.bad-size")


def root_from_inclusion_proof(leaf_hash: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4).

    Raises:
        ProofError: malformed input, index outside the tree, or a path of the wrong length.
    """
    _check_tree_size(size, "tree size")
    _check_hash(leaf_hash, "leaf hash")
    _check_path(path, "inclusion path")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}", code="proof.index-out-of-range")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in path:
        if sn == 0:
            raise ProofError("inclusion path is longer than the tree is deep", code="proof.wrong-length")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion path is shorter than the tree is deep", code="proof.wrong-length")
    return r


def verify_inclusion(leaf_hash: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises:
        ProofError: the proof is malformed.
        RootMismatchError: the proof is well formed but leads elsewhere.
    """
    _check_hash(root, "root")
    calculated = root_from_inclusion_proof(leaf_hash, index, size, path)
    if not hmac.compare_digest(calculated, root):
        raise RootMismatchError(root, calculated)


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree ``(size2, root2)`` extends ``(size1, root1)`` (RFC 9162 §2.1.4.2).

    Raises:
        ProofError: the proof is malformed or the sizes are impossible.
        RootMismatchError: the proof is well formed but does not reproduce a root.
    """
    _check_tree_size(size1, "size1")
    _check_tree_size(size2, "size2")
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    _check_path(proof, "consistency proof")
    if size1 > size2:
        raise ProofError(f"size1 {size1} is larger than size2 {size2}", code="proof.bad-size")
    if size1 == size2:
        if proof:
            raise ProofError("a proof between equal sizes must be empty", code="proof.wrong-length")
        if not hmac.compare_digest(root1, root2):
            raise RootMismatchError(root2, root1)
        return
    if size1 == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty", code="proof.wrong-length")
        return
    # Step 1: a non-trivial proof is never empty.
    if not proof:
        raise ProofError("consistency proof is empty", code="proof.wrong-length")
    path = list(proof)
    # Step 2: when size1 is a power of two, the first subtree root is root1 itself.
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long", code="proof.wrong-length")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short", code="proof.wrong-length")
    if not hmac.compare_digest(fr, root1):
        raise RootMismatchError(root1, fr)
    if not hmac.compare_digest(sr, root2):
        raise RootMismatchError(root2, sr)
