"""A JSON Lines ``provenance-proofs/v1`` collection, verified as it is read: what a published
version with a proof on every record is (``GET .../records?with_proofs=true``,
``provenance export --with-proofs``).

Line 1 is the header (``layout: "jsonl"``, the snapshot proofs, ``recordCount``); each further
line a record. Each snapshot proof is verified once. Each record's leaf is recomputed (RFC 8785 of
its entry); when the records of a snapshot are all of it, in leaf order, its root is rebuilt once
from their leaves and each path is compared with the rebuilt tree's — the same as verifying every
path, at a fraction of the cost; otherwise each path is verified on its own. Refs to records in
the file are checked as lineage edges; refs outside it are counted.

A large file (``verify_file``) is read by one process per core, each parsing and hashing its own
byte range of the file, and the rebuilt tree's paths are compared in ranges the same way; the
verdict is the same as reading it line by line.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from provenance import lineage, merkle, merkle_levels, strict_json
from provenance.errors import FormatError, ProvenanceError
from provenance.proofs import collection_lines, snapshot
from provenance.proofs.collection import COLLECTION_FORMAT, MAX_COLLECTION_BYTES
from provenance.proofs.collection_lines import SnapshotRecords, State, empty_like, merge, read_record
from provenance.proofs.collection_verify import MAX_REPORTED, CollectionVerdict, Failure
from provenance.proofs.verdict import Verdict
from provenance.proofs.verify import AnchorReader, Policy
from provenance.records.canonical import CanonicalError, key_text

RANGE_BYTES = 8 << 20  # what one worker reads at a time
PARALLEL_MIN_BYTES = 64 << 20  # below this, starting workers costs more than it saves


def is_jsonl_header(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == COLLECTION_FORMAT and doc.get("layout") == "jsonl"


def verify_stream(
    lines: Iterable[bytes], *, policy: Policy | None = None, chain: AnchorReader | None = None
) -> CollectionVerdict:
    """Verify a JSON Lines collection line by line. Raises ``FormatError`` only for a header
    that is not one; every problem after it is reported in the verdict."""
    it = iter(lines)
    header, state = _start(next(it, b""), policy, chain)
    _read_lines(state, ([line] for line in it))
    return _finish(header, state, policy, workers=1)


def verify_file(
    path: Path,
    *,
    policy: Policy | None = None,
    chain: AnchorReader | None = None,
    connect: Callable[[], AnchorReader | None] | None = None,
    workers: int | None = None,
) -> CollectionVerdict:
    """:func:`verify_stream` of a file, read by ``workers`` processes (default: one per core for a
    large file, when this process runs no other thread: the workers are forked). ``connect``
    makes the chain reader (asking the node) while the workers read. No line is held whole in
    memory past ``MAX_LINE_BYTES``."""
    workers = _worker_count(workers, path)
    size = path.stat().st_size
    with path.open("rb") as f:
        first = f.readline(MAX_COLLECTION_BYTES + 1)
        if workers <= 1:
            header, state = _start(first, policy, chain or (connect() if connect else None))
            _read_lines(state, _lines(f, f.tell(), size))
            return _finish(header, state, policy, workers=1)
        header, state = _start(first, policy, None, verify=False)
        ranges = _ranges(f, size)
    _INHERITED.update(state=state, path=path)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.imap(_read_range, ranges)  # started: the snapshots are checked meanwhile
            _verify_snapshots(state, policy or Policy(), chain or (connect() if connect else None))
            for part in parts:  # in file order
                merge(state, part)
    finally:
        _INHERITED.clear()
    return _finish(header, state, policy, workers)


def _verify_snapshots(state: State, policy: Policy, chain: AnchorReader | None) -> None:
    for snap in state.snapshots:
        if snap.proof is not None:
            snap.verdict = snapshot.verify_snapshot(snap.proof, policy=policy, chain=chain)


def _start(
    first: bytes, policy: Policy | None, chain: AnchorReader | None, *, verify: bool = True
) -> tuple[dict[str, Any], State]:
    header = _header(first)
    state = State([_snapshot(doc, policy or Policy(), chain, verify) for doc in header["snapshots"]])
    only = state.snapshots[0]
    only.whole = (
        len(state.snapshots) == 1
        and only.proof is not None
        and (header["recordCount"] == only.proof.manifest.manifest.size)
    )
    return header, state


def _finish(header: dict[str, Any], state: State, policy: Policy | None, workers: int) -> CollectionVerdict:
    if state.records != header["recordCount"]:
        state.failures.append(
            Failure(
                "(file)",
                "collection.truncated-file",
                f"the header announces {header['recordCount']} records, the file holds {state.records}",
            )
        )
    for s, snap in enumerate(state.snapshots):
        _check_inclusion(state, s, snap, workers)
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
        offline=(policy or Policy()).offline,
    )


# --- reading and checking in worker processes ----------------------------------------------------


def _worker_count(asked: int | None, path: Path) -> int:
    if threading.active_count() != 1:  # forking a threaded process can copy a held lock
        return 1
    if asked is not None:
        return asked
    try:
        big = path.stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return 1
    return min(os.cpu_count() or 1, 4) if big else 1


def _ranges(f: Any, size: int) -> list[tuple[int, int]]:
    """Byte ranges of the records (after the header), each ending at a line's end."""
    bounds = [f.tell()]
    while bounds[-1] < size:
        f.seek(min(bounds[-1] + RANGE_BYTES, size))
        while (piece := f.readline(RANGE_BYTES)) and not piece.endswith(b"\n"):
            pass  # a long line, skipped a bounded piece at a time
        bounds.append(min(f.tell(), size))
    return list(itertools.pairwise(bounds))


def _lines(f: Any, start: int, end: int, *, chunk: int = 0, limit: int = 0) -> Iterator[list[bytes]]:
    """The lines of ``f`` between two line ends, a list per ``chunk`` bytes read; a line longer
    than ``limit`` (default ``MAX_LINE_BYTES``) is cut to ``limit + 1`` bytes as it is read, so a
    hostile file costs no more memory than its limit (the reader refuses such a line)."""
    chunk, limit = chunk or RANGE_BYTES, limit or collection_lines.MAX_LINE_BYTES
    f.seek(start)
    left, carry = end - start, b""
    while left > 0 and (data := f.read(min(chunk, left))):
        left -= len(data)
        lines = data.split(b"\n")
        lines[0] = (carry + lines[0])[: limit + 1]
        carry = lines.pop()[: limit + 1]
        if len(data) > limit:  # else only the first line can be long (a cut is a copy: spare it)
            lines = [line[: limit + 1] for line in lines]
        yield lines
    if carry:
        yield [carry]


def _read_lines(state: State, chunks: Iterable[list[bytes]]) -> None:
    for lines in chunks:
        for line in lines:
            if line.strip():
                read_record(state, line)


# What forked workers read: set just before the fork, inherited, never sent through a pipe.
_INHERITED: dict[str, Any] = {}


def _read_range(span: tuple[int, int]) -> State:
    part = empty_like(_INHERITED["state"])
    with Path(_INHERITED["path"]).open("rb") as f:
        _read_lines(part, _lines(f, *span))
    for snap in part.snapshots:  # the parent has them
        snap.proof = None
    return part


def _check_inclusion(state: State, s: int, snap: SnapshotRecords, workers: int) -> None:
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
        for pos in _paths_unlike_the_tree(levels, snap, workers):
            state.fail(s, pos, snap.where(pos), "inclusion.bad-path", "the path is not the tree's")
        return
    for pos, index in enumerate(snap.indexes):
        try:
            path = [bytes.fromhex(h[2:]) for h in snap.raw_paths.get(pos, [])]
            merkle.verify_inclusion(snap.leaf(pos), index, m.size, path, m.root)
        except (ProvenanceError, ValueError) as e:
            state.fail(s, pos, snap.where(pos), getattr(e, "code", "inclusion.bad-path"), str(e))


def _paths_unlike_the_tree(levels: list[bytes], snap: SnapshotRecords, workers: int) -> list[int]:
    """Positions whose path (as given) is not the rebuilt tree's; by ranges in ``workers``
    processes when there are several."""
    _INHERITED.update(levels=levels, paths=snap.paths)
    try:
        n = len(snap)
        if workers <= 1 or threading.active_count() != 1:  # a chain client may have started one
            return _bad_paths((0, n))
        step = -(-n // (4 * workers))
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_bad_paths, [(i, min(i + step, n)) for i in range(0, n, step)])
        return [pos for part in parts for pos in part]
    finally:
        _INHERITED.clear()


def _bad_paths(span: tuple[int, int]) -> list[int]:
    given = memoryview(_INHERITED["paths"])
    start, stop = span
    expected = memoryview(merkle_levels.path_digests(_INHERITED["levels"], start, stop))
    if given[start * 32 : stop * 32] == expected:  # the common case: one comparison
        return []
    return [
        pos
        for i, pos in enumerate(range(start, stop))
        if given[pos * 32 : pos * 32 + 32] != expected[i * 32 : i * 32 + 32]
    ]


# --- header, snapshots, edges --------------------------------------------------------------------


def _header(line: bytes) -> dict[str, Any]:
    try:  # strictly: a duplicate key or an integer past 2^53 is refused, not read one way
        doc = strict_json.loads(line, max_bytes=MAX_COLLECTION_BYTES)
    except FormatError as e:
        raise FormatError(f"line 1 (the header): {e.message}", code="collection.malformed") from None
    if not is_jsonl_header(doc) or not isinstance(doc.get("snapshots"), list):
        raise FormatError("line 1 is not a JSON Lines collection header", code="collection.malformed")
    count = doc.get("recordCount")
    if type(count) is not int or count < 0 or not doc["snapshots"]:
        raise FormatError(
            "the header needs snapshots and a recordCount (an integer, 0 or more)",
            code="collection.malformed",
        )
    return doc  # type: ignore[no-any-return]


def _snapshot(doc: Any, policy: Policy, chain: AnchorReader | None, verify: bool = True) -> SnapshotRecords:
    label = f"{doc.get('dataset')}@{doc.get('version')}" if isinstance(doc, dict) else "?"
    try:
        proof = snapshot.from_json(doc)
    except ProvenanceError as e:
        from provenance.proofs.verdict import Check, Status

        return SnapshotRecords(label, None, Verdict((Check("signature", Status.INVALID, e.code, e.message),)))
    if not verify:  # the caller verifies it later
        return SnapshotRecords(label, proof, Verdict(()))
    return SnapshotRecords(label, proof, snapshot.verify_snapshot(proof, policy=policy, chain=chain))


def _check_edges(state: State) -> tuple[int, int, int]:
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
