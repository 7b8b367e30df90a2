"""A JSON Lines ``provenance-proofs/v1`` collection, verified as it is read: what a published
version with a proof on every record is (``GET .../records?with_proofs=true``,
``provenance export --with-proofs``).

Line 1 is the header (``layout: "jsonl"``, the snapshot proofs, ``recordCount``); each further
line a record. Each snapshot proof is verified once. Each record's leaf is recomputed (RFC 8785 of
its entry); when the records of a snapshot are all of it, in leaf order, its root is rebuilt once
from their leaves and each path is compared with the rebuilt tree's — the same as verifying every
path, at a fraction of the cost; otherwise each path is verified on its own. Refs to records in
the file are checked as lineage edges; refs outside it are counted.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from provenance import lineage, merkle, merkle_levels
from provenance.errors import FormatError, ProvenanceError
from provenance.proofs import snapshot
from provenance.proofs.collection import COLLECTION_FORMAT
from provenance.proofs.collection_verify import MAX_REPORTED, CollectionVerdict, Failure
from provenance.proofs.verdict import Verdict
from provenance.proofs.verify import AnchorReader, Policy
from provenance.records.canonical import CanonicalError, canonical, key_text

BATCH = 65_536


def is_jsonl_header(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == COLLECTION_FORMAT and doc.get("layout") == "jsonl"


@dataclass
class _Snapshot:
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
class _State:
    snapshots: list[_Snapshot]
    failures: list[Failure] = field(default_factory=list)
    records: int = 0
    bad: set[tuple[int, int]] = field(default_factory=set)  # (snapshot, position) of failed records
    by_key: dict[tuple[str, int, bytes], tuple[int, int]] = field(default_factory=dict)
    refs: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)

    def fail(self, s: int, pos: int, where: str, reason: str, detail: str) -> None:
        self.bad.add((s, pos))
        self.failures.append(Failure(where, reason, detail))


def verify_stream(
    lines: Iterable[bytes], *, policy: Policy | None = None, chain: AnchorReader | None = None
) -> CollectionVerdict:
    """Verify a JSON Lines collection line by line. Raises ``FormatError`` only for a header
    that is not one; every problem after it is reported in the verdict."""
    policy = policy or Policy()
    it = iter(lines)
    header = _header(next(it, b""))
    state = _State([_snapshot(doc, policy, chain) for doc in header["snapshots"]])
    only = state.snapshots[0]
    only.whole = (
        len(state.snapshots) == 1
        and only.proof is not None
        and (header["recordCount"] == only.proof.manifest.manifest.size)
    )
    for line in _nonblank(it):
        _record(state, line)
    if state.records != header["recordCount"]:
        state.failures.append(
            Failure(
                "(file)",
                "collection.truncated-file",
                f"the header announces {header['recordCount']} records, the file holds {state.records}",
            )
        )
    for s, snap in enumerate(state.snapshots):
        _check_inclusion(state, s, snap)
    edges, valid, outside = _check_edges(state)
    return CollectionVerdict(
        snapshots=tuple((s.label, s.verdict) for s in state.snapshots),
        records=state.records,
        records_valid=state.records - len(state.bad),
        edges=edges,
        edges_valid=valid,
        edges_outside=outside,
        failures=tuple(state.failures[:MAX_REPORTED]),
        failure_count=len(state.failures),
        truncated=False,
        offline=policy.offline,
    )


def _nonblank(lines: Iterator[bytes]) -> Iterator[bytes]:
    return (line for line in lines if line.strip())


def _header(line: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise FormatError(f"line 1 is not JSON: {e}", code="collection.malformed") from None
    if not is_jsonl_header(doc) or not isinstance(doc.get("snapshots"), list):
        raise FormatError("line 1 is not a JSON Lines collection header", code="collection.malformed")
    if not isinstance(doc.get("recordCount"), int) or not doc["snapshots"]:
        raise FormatError("the header needs snapshots and a recordCount", code="collection.malformed")
    return doc  # type: ignore[no-any-return]


def _snapshot(doc: Any, policy: Policy, chain: AnchorReader | None) -> _Snapshot:
    label = f"{doc.get('dataset')}@{doc.get('version')}" if isinstance(doc, dict) else "?"
    try:
        proof = snapshot.from_json(doc)
    except ProvenanceError as e:
        from provenance.proofs.verdict import Check, Status

        return _Snapshot(label, None, Verdict((Check("signature", Status.INVALID, e.code, e.message),)))
    return _Snapshot(label, proof, snapshot.verify_snapshot(proof, policy=policy, chain=chain))


def _record(state: _State, line: bytes) -> None:
    state.records += 1
    where = f"line {state.records + 1}"
    try:
        rec = orjson.loads(line)
        s, entry, index = rec["snapshot"], rec["entry"], rec["leafIndex"]
        snap = state.snapshots[s]
        assert snap.proof is not None, "its snapshot proof is unreadable"
        schema = snap.proof.manifest.manifest.schema
        key = key_text([entry["record"][c] for c in schema.key])
        where = f"{snap.label} key {key.decode()}"
        leaf = merkle.hash_leaf(canonical(entry))
        given = rec["inclusionPath"]
        problem = _leaf_problem(key, rec["key"], schema.salted, entry)
    except (CanonicalError, KeyError, TypeError, IndexError, ValueError, AssertionError) as e:
        state.failures.append(Failure(where, "collection.bad-record", f"{type(e).__name__}: {e}"))
        state.bad.add((-1, state.records))
        first = state.snapshots[0]
        if first.whole:  # keep its place: the rebuilt root then fails, and says so
            _add(state, 0, first, bytes(32), None, len(first), b"?", {})
        return
    pos = _add(state, s, snap, leaf, given, index, key, entry)
    if problem is not None:
        state.fail(s, pos, where, *problem)


def _leaf_problem(key: bytes, claimed: Any, salted: bool, entry: dict[str, Any]) -> tuple[str, str] | None:
    if key != key_text(claimed):
        return ("leaf.key-mismatch", f"record key {claimed} but the entry's is {key.decode()}")
    if salted != ("salt" in entry):
        return ("leaf.salt-mismatch", "salt presence does not match the schema")
    return None


def _add(
    state: _State,
    s: int,
    snap: _Snapshot,
    leaf: bytes,
    given: Any,
    index: int,
    key: bytes,
    entry: dict[str, Any],
) -> int:
    pos = len(snap)
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


def _path_digest(path: Any) -> bytes | None:
    try:
        return merkle.hash_leaf(b"".join(bytes.fromhex(h[2:]) for h in path if h[:2] == "0x"))
    except (TypeError, ValueError):
        return None


def _check_inclusion(state: _State, s: int, snap: _Snapshot) -> None:
    if snap.proof is None or not len(snap):
        return
    m = snap.proof.manifest.manifest
    in_order = len(snap) == m.size and all(i == p for p, i in enumerate(snap.indexes))
    if snap.whole and not in_order:
        # announced whole but not: cut off or out of order; only digests of the paths were kept
        detail = "the records are not the snapshot's, in leaf order, as the header announces"
        state.failures.append(Failure(snap.label, "collection.not-whole", detail))
        state.bad.update((s, p) for p in range(len(snap)))
        return
    if snap.whole:
        levels = merkle.build_levels(bytes(snap.leaves), threads=2)
        if levels[-1] != m.root:
            detail = f"the {m.size} records rebuild root {levels[-1].hex()}, signed: {m.root.hex()}"
            state.failures.append(Failure(snap.label, "inclusion.root-mismatch", detail))
            state.bad.update((s, p) for p in range(len(snap)))
            return
        expected = merkle_levels.inclusion_paths(levels)
        given = memoryview(snap.paths)
        for pos, path in enumerate(expected):
            if pos in snap.unreadable_paths or given[pos * 32 : pos * 32 + 32] != merkle.hash_leaf(
                b"".join(path)
            ):
                state.fail(s, pos, snap.where(pos), "inclusion.bad-path", "the path is not the tree's")
        return
    for pos, index in enumerate(snap.indexes):
        try:
            path = [bytes.fromhex(h[2:]) for h in snap.raw_paths.get(pos, [])]
            merkle.verify_inclusion(snap.leaf(pos), index, m.size, path, m.root)
        except (ProvenanceError, ValueError) as e:
            state.fail(s, pos, snap.where(pos), getattr(e, "code", "inclusion.bad-path"), str(e))


def _check_edges(state: _State) -> tuple[int, int, int]:
    edges = valid = outside = 0
    for s, pos, ref in state.refs:
        edges += 1
        child = state.snapshots[s]
        try:
            target = state.by_key.get((ref["dataset"], ref["version"], key_text(list(ref["key"]))))
        except (KeyError, TypeError, CanonicalError):
            state.failures.append(
                Failure(child.where(pos), "lineage.bad-ref", f"malformed ref {ref!r}"[:200])
            )
            continue
        if target is None:
            outside += 1
            continue
        up = state.snapshots[target[0]]
        assert child.proof is not None and up.proof is not None
        m = up.proof.manifest.manifest
        ok = up.verdict.status != "invalid" and target not in state.bad
        found = lineage.Upstream(
            m.dataset, m.version, tuple(ref["key"]), m.dataset_id, m.root, "valid" if ok else "invalid",
            up.leaf(target[1]),
        )  # fmt: skip
        broken = lineage.check_edge(ref, child.proof.manifest.manifest.parents, found)
        if broken is None:
            valid += 1
        else:
            where = f"{child.where(pos)} -> {up.where(target[1])}"
            state.failures.append(Failure(where, *broken))
    return edges, valid, outside
