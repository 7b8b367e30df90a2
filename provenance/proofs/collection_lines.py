"""A JSON Lines collection's record lines, read into flat buffers per snapshot: what
``collection_stream`` verifies. Reading is a pure function of the lines and the snapshots, so
parts of a file can be read by several processes and merged in file order (:func:`merge`)."""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import Any

import orjson

from provenance import merkle, merkle_levels
from provenance.proofs import snapshot
from provenance.proofs.collection_verify import Failure
from provenance.proofs.verdict import Verdict
from provenance.records.canonical import CanonicalError, canonical, key_text


@dataclass
class SnapshotRecords:
    """A snapshot's records as read, in flat buffers: a million records as Python objects each
    (leaf, path digest, label) left ~4.5 KB per record behind in fragmented arenas."""

    label: str
    proof: snapshot.SnapshotProof | None
    verdict: Verdict
    leaves: bytearray = field(default_factory=bytearray)  # 32 bytes per record
    paths: bytearray = field(default_factory=bytearray)  # the digest of each record's path as given
    unreadable_paths: set[int] = field(default_factory=set)
    raw_paths: dict[int, list[str]] = field(default_factory=dict)  # unless the file is the whole snapshot
    whole: bool = False  # the header announces exactly this snapshot's records
    indexes: array[int] = field(default_factory=lambda: array("q"))
    keys: bytearray = field(default_factory=bytearray)
    key_ends: array[int] = field(default_factory=lambda: array("q"))

    def __len__(self) -> int:
        return len(self.indexes)

    def leaf(self, pos: int) -> bytes:
        return bytes(self.leaves[pos * 32 : (pos + 1) * 32])

    def where(self, pos: int) -> str:
        start = self.key_ends[pos - 1] if pos else 0
        return f"{self.label} key {self.keys[start : self.key_ends[pos]].decode()}"


@dataclass
class State:
    snapshots: list[SnapshotRecords]
    failures: list[Failure] = field(default_factory=list)
    records: int = 0
    bad: set[tuple[int, int]] = field(default_factory=set)  # (snapshot, position) of failed records
    by_key: dict[tuple[str, int, bytes], tuple[int, int]] = field(default_factory=dict)
    refs: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    # Read in parts (worker processes), record numbers start at 0 in each part; what holds one
    # is listed, so that merge() can count it from the file's start:
    numbered: list[int] = field(default_factory=list)  # failures whose ``where`` is "line N"
    placeholders: list[int] = field(default_factory=list)  # positions kept for unreadable records

    def fail(self, s: int, pos: int, where: str, reason: str, detail: str) -> None:
        self.bad.add((s, pos))
        self.failures.append(Failure(where, reason, detail))


def read_record(state: State, line: bytes) -> None:
    """One record line into ``state``; any problem with it becomes a failure, never an error."""
    state.records += 1
    line = line.removesuffix(b"\n")  # the same line, whether a file iterator or a split gave it
    snap, key = None, None  # which record it is, as far as it could be read
    try:
        rec = orjson.loads(line)
        s, entry, index = rec["snapshot"], rec["entry"], rec["leafIndex"]
        snap = state.snapshots[s]
        assert snap.proof is not None, "its snapshot proof is unreadable"
        schema = snap.proof.manifest.manifest.schema
        key = key_text([entry["record"][c] for c in schema.key])
        leaf = merkle.hash_leaf(canonical(entry))
        given = rec["inclusionPath"]
        problem = _leaf_problem(key, rec["key"], schema.salted, entry)
    except (CanonicalError, KeyError, TypeError, IndexError, ValueError, AssertionError) as e:
        if snap is None or key is None:
            where = f"line {state.records + 1}"
            state.numbered.append(len(state.failures))
        else:
            where = f"{snap.label} key {key.decode()}"
        state.failures.append(Failure(where, "collection.bad-record", f"{type(e).__name__}: {e}"))
        first = state.snapshots[0]
        if first.whole:  # keep its place: the rebuilt root then fails, and says so
            state.placeholders.append(len(first))
            state.bad.add((0, _add(state, 0, first, bytes(32), None, len(first), b"?", {})))
        else:  # counted once: by its place when it has one, else by its line
            state.bad.add((-1, state.records))
        return
    pos = _add(state, s, snap, leaf, given, index, key, entry)
    if problem is not None:
        state.fail(s, pos, f"{snap.label} key {key.decode()}", *problem)


def _leaf_problem(key: bytes, claimed: Any, salted: bool, entry: dict[str, Any]) -> tuple[str, str] | None:
    if key != key_text(claimed):
        return ("leaf.key-mismatch", f"record key {claimed} but the entry's is {key.decode()}")
    if salted != ("salt" in entry):
        return ("leaf.salt-mismatch", "salt presence does not match the schema")
    return None


def _add(
    state: State,
    s: int,
    snap: SnapshotRecords,
    leaf: bytes,
    given: Any,
    index: int,
    key: bytes,
    entry: dict[str, Any],
) -> int:
    pos = len(snap.indexes)  # not len(snap): a Python-level __len__ per record
    snap.leaves += leaf
    digest = _path_digest(given)
    if digest is None:
        snap.unreadable_paths.add(pos)
    snap.paths += digest or bytes(32)
    if not snap.whole:  # its paths are verified one by one
        snap.raw_paths[pos] = given
    snap.indexes.append(index)
    snap.keys += key
    snap.key_ends.append(len(snap.keys))
    if len(state.snapshots) > 1 and snap.proof is not None and key:  # refs point at other snapshots
        state.by_key[(snap.proof.dataset, snap.proof.version, key)] = (s, pos)
    for ref in entry.get("derived_from") or []:
        state.refs.append((s, pos, ref))
    return pos


_HEX_AND_X = b"0123456789abcdefx"


def _path_digest(path: Any) -> bytes | None:
    """The digest of the path's hashes as ``merkle_levels.path_digests`` computes the tree's, or
    None when the path cannot be read.

    A path written as collections write it (each hash ``0x`` and 64 lowercase hex digits) is
    digested as the text it is, which costs a third of decoding 20 hashes one by one; any other
    spelling is decoded, so it is judged by the hashes it names, as before."""
    digest = text_digest(path)
    if digest is not None:
        return digest
    try:
        return merkle_levels.path_digest([bytes.fromhex(h[2:]) for h in path if h[:2] == "0x"])
    except (TypeError, ValueError):
        return None


def py_text_digest(path: Any) -> bytes | None:
    """SHA-256 of the path's text top level first, when every hash is written ``0x`` and 64
    lowercase hex digits; else None. The reference of the native ``path_text_digest``."""
    if type(path) is not list:
        return None
    n = len(path)
    try:
        text = "".join(reversed(path)).encode()
    except (TypeError, UnicodeEncodeError):  # not strings, or a lone surrogate
        return None
    if (
        set(map(len, path)) <= {66}
        and len(text) == 66 * n
        and text[0::66] == b"0" * n
        and text[1::66] == b"x" * n
        and text.count(b"x") == n
        and not text.translate(None, _HEX_AND_X)
    ):
        return hashlib.sha256(text).digest()
    return None


# In C when the native hasher is built: ~1.5 us a path instead of ~7.5 us.
text_digest = merkle_levels.native_path_text_digest or py_text_digest


def merge(state: State, part: State) -> None:
    """Append ``part`` (the records after ``state``'s, read on their own) to ``state``."""
    base = state.records
    offsets = []
    for snap, got in zip(state.snapshots, part.snapshots, strict=True):
        off, key_off = len(snap), len(snap.keys)
        offsets.append(off)
        snap.leaves += got.leaves
        snap.paths += got.paths
        snap.unreadable_paths.update(p + off for p in got.unreadable_paths)
        snap.raw_paths.update((p + off, v) for p, v in got.raw_paths.items())
        snap.indexes.extend(got.indexes)
        snap.keys += got.keys
        snap.key_ends.extend(e + key_off for e in got.key_ends)
    for p in part.placeholders:  # only ever in the first snapshot (a whole one)
        state.snapshots[0].indexes[offsets[0] + p] = offsets[0] + p
    for i in part.numbered:
        f = part.failures[i]
        part.failures[i] = Failure(f"line {int(f.where[5:]) + base}", f.reason, f.detail)
    state.records += part.records
    state.failures += part.failures
    state.bad.update((s, p + (offsets[s] if s >= 0 else base)) for s, p in part.bad)
    state.by_key.update((k, (s, p + offsets[s])) for k, (s, p) in part.by_key.items())
    state.refs += [(s, p + offsets[s], ref) for s, p, ref in part.refs]


def empty_like(state: State) -> State:
    """A state for the next part of the same file: the same snapshots, no records yet."""
    return State([SnapshotRecords(s.label, s.proof, s.verdict, whole=s.whole) for s in state.snapshots])
