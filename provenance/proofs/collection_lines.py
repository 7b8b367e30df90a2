"""A JSON Lines collection's record lines, read into flat buffers per snapshot: what
``collection_stream`` verifies. Reading is a pure function of the lines and the snapshots, so
parts of a file can be read by several processes and merged in file order (:func:`merge`)."""

from __future__ import annotations

import hashlib
import re
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
    raw_paths: dict[int, list[str]] = field(default_factory=dict)  # unless the file is the whole snapshot
    whole: bool = False  # the header announces exactly this snapshot's records
    salted: bool = field(init=False)  # the signed schema's, looked at per record
    key_columns: tuple[str, ...] = field(init=False)
    indexes: array[int] = field(default_factory=lambda: array("Q"))  # uint64 leaf indexes
    keys: bytearray = field(default_factory=bytearray)
    key_ends: array[int] = field(default_factory=lambda: array("q"))

    def __post_init__(self) -> None:
        schema = self.proof.manifest.manifest.schema if self.proof is not None else None
        self.salted = schema is not None and schema.salted
        self.key_columns = schema.key if schema is not None else ()

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


MAX_LINE_BYTES = 16 << 20  # a record line is one bundle's record: the verifier's bundle limit
_FIELDS = ("snapshot", "key", "entry", "leafIndex", "inclusionPath")
_FIELD_SET = frozenset(_FIELDS)


class BadLine(ValueError):
    """A record line that breaks the collection schema's ``recordProof`` (said as is)."""


def read_record(state: State, line: bytes) -> None:
    """One record line into ``state``; any problem with it becomes a failure, never an error.
    Its hot path is written in line: at a million records, each call or lookup saved counts."""
    state.records += 1
    line = line.removesuffix(b"\n")  # the same line, whether a file iterator or a split gave it
    snap, key, n = None, None, len(state.snapshots)  # which record it is, as far as it was read
    try:
        if len(line) > MAX_LINE_BYTES:
            raise BadLine(f"the line is longer than {MAX_LINE_BYTES} bytes")
        rec = orjson.loads(line)
        try:  # the schema's recordProof (JSON Schema would cost more than the rest of the record)
            shaped = (
                type(rec) is dict
                and len(rec) == 5  # and each of the five found: exactly the schema's fields
                and type(s := rec["snapshot"]) is int
                and 0 <= s < n
                and type(index := rec["leafIndex"]) is int
                and 0 <= index <= 0xFFFF_FFFF_FFFF_FFFF
                and type(claimed := rec["key"]) is list
                and 0 < len(claimed) <= 64
                and type(entry := rec["entry"]) is dict
                and type(path := rec["inclusionPath"]) is list
                and len(path) <= 64
            )
        except KeyError:
            shaped = False
        if not shaped:
            raise BadLine(_field_problem(rec, n))
        snap = state.snapshots[s]
        assert snap.proof is not None, "its snapshot proof is unreadable"
        key = key_text([entry["record"][c] for c in snap.key_columns])
        digest = text_digest(path) or _spelled_path_digest(path)
        leaf = merkle.hash_leaf(canonical(entry))
        problem = None
        if key != key_text(claimed) or snap.salted != ("salt" in entry):
            problem = _leaf_problem(key, claimed, snap.salted)
    except (CanonicalError, KeyError, TypeError, IndexError, ValueError, AssertionError) as e:
        _unreadable(state, snap, key, str(e) if isinstance(e, BadLine) else f"{type(e).__name__}: {e}")
        return
    pos = _add(state, s, snap, leaf, digest, index, path, entry, key)
    if problem is not None:
        state.fail(s, pos, f"{snap.label} key {key.decode()}", *problem)


def _field_problem(rec: Any, snapshots: int) -> str:
    """What in a record line breaks the collection schema's ``recordProof``."""
    if type(rec) is not dict or rec.keys() != _FIELD_SET:
        return f"a record line is an object with exactly {', '.join(_FIELDS[:-1])} and {_FIELDS[-1]}"
    s, index, key, path = rec["snapshot"], rec["leafIndex"], rec["key"], rec["inclusionPath"]
    if type(s) is not int or not 0 <= s < snapshots:
        return f"snapshot must be the number of one of the header's {snapshots} snapshot(s)"
    if type(index) is not int or not 0 <= index <= 0xFFFF_FFFF_FFFF_FFFF:
        return "leafIndex must be an integer from 0 to 2^64-1"
    if type(key) is not list or not 1 <= len(key) <= 64:
        return "key must be a list of 1 to 64 values"
    if type(rec["entry"]) is not dict:
        return "entry must be an object"
    assert type(path) is not list or len(path) > 64, "only a record that breaks the schema is asked about"
    return "inclusionPath must be a list of up to 64 hashes"


def _unreadable(state: State, snap: SnapshotRecords | None, key: bytes | None, detail: str) -> None:
    """A record line that could not be read: named by its key when that was read, else by its
    line; its place kept in a whole snapshot, so that the rebuilt root fails and says so."""
    if snap is not None and key is not None:
        where = f"{snap.label} key {key.decode()}"
    else:
        where = f"line {state.records + 1}"
        state.numbered.append(len(state.failures))
    state.failures.append(Failure(where, "collection.bad-record", detail))
    first = state.snapshots[0]
    if first.whole:
        state.placeholders.append(len(first))
        state.bad.add((0, _add(state, 0, first, bytes(32), bytes(32), len(first), [], {}, b"?")))
    else:  # counted once: by its place when it has one, else by its line
        state.bad.add((-1, state.records))


def _leaf_problem(key: bytes, claimed: Any, salted: bool) -> tuple[str, str]:
    if key != key_text(claimed):
        return ("leaf.key-mismatch", f"record key {claimed} but the entry's is {key.decode()}")
    return ("leaf.salt-mismatch", "salt presence does not match the schema")


def _add(
    state: State,
    s: int,
    snap: SnapshotRecords,
    leaf: bytes,
    digest: bytes,
    index: int,
    path: list[Any],
    entry: dict[str, Any],
    key: bytes,
) -> int:
    pos = len(snap.indexes)  # not len(snap): a Python-level __len__ per record
    snap.leaves += leaf
    snap.paths += digest
    if not snap.whole:  # its paths are verified one by one
        snap.raw_paths[pos] = path
    snap.indexes.append(index)
    snap.keys += key
    snap.key_ends.append(len(snap.keys))
    if len(state.snapshots) > 1 and snap.proof is not None and key:  # refs point at other snapshots
        state.by_key[(snap.proof.dataset, snap.proof.version, key)] = (s, pos)
    for ref in entry.get("derived_from") or ():
        state.refs.append((s, pos, ref))
    return pos


_HEX_AND_X = b"0123456789abcdefx"
_HASH = re.compile("0x[0-9a-fA-F]{64}", re.ASCII)


def path_digest(path: list[Any]) -> bytes:
    """The digest of a record's path (``read_record`` does the same in line)."""
    return text_digest(path) or _spelled_path_digest(path)


def _spelled_path_digest(path: list[Any]) -> bytes:
    """The digest of a path not written as collections write it (each hash ``0x`` and 64
    lower-case hex digits, which ``text_digest`` digests as the text it is, at a third of the
    cost): any other spelling the schema allows (upper-case digits) is decoded, so that it is
    judged by its hashes; the same digest as ``merkle_levels.path_digests`` gives the tree's.

    Raises:
        BadLine: an item is not a hash.
    """
    for i, h in enumerate(path):
        if type(h) is not str or not _HASH.fullmatch(h):
            raise BadLine(f"inclusionPath[{i}] is not a hash (0x and 64 hex digits)")
    return merkle_levels.path_digest([bytes.fromhex(h[2:]) for h in path])


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
