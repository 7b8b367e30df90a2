"""Build a snapshot from a data file: chunks → (worker processes) entries → tree.

The parent process only cuts the file, checks record keys for duplicates and hands entries to
a sink; canonicalisation and leaf hashing run in worker processes (one per core), and the
tree levels are hashed by native code on two threads. Nothing is handed to the sink's
``commit`` unless the whole file was read without error, so a failed build leaves nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Protocol

from provenance import upstream as upstream_mod
from provenance.errors import InputError, LimitExceeded
from provenance.lineage import MAX_REFS_PER_RECORD
from provenance.merkle import MerkleTree
from provenance.quality.evaluate import check_runnable
from provenance.quality.report import QualityReport
from provenance.quality.tally import QualityTally
from provenance.records.chunks import Chunk, ChunkResult, Context
from provenance.records.readers import detect_format, open_chunks, process_chunk
from provenance.records.schema import Schema
from provenance.upstream import KeyedLeaves

Upstream = Mapping[tuple[str, int], KeyedLeaves]  # parents' records by (name, version)

# Files below this size are read in-process: starting workers costs more than it saves.
PARALLEL_MIN_BYTES = 8 << 20


class EntrySink(Protocol):
    """Receives each chunk's entries in order; the builder never calls it after an error."""

    def add(self, first_index: int, result: ChunkResult) -> None: ...


@dataclass(frozen=True)
class Ingested:
    size: int
    tree: MerkleTree
    source: str
    fmt: str
    quality: QualityReport | None = None  # when the schema has rules

    @property
    def root(self) -> bytes:
        return self.tree.root


@dataclass(frozen=True)
class Limits:
    max_records: int | None = None
    max_record_bytes: int = 1 << 20
    max_refs: int = MAX_REFS_PER_RECORD


def ingest_file(
    path: Path,
    schema: Schema,
    sink: EntrySink,
    *,
    fmt: str | None = None,
    salt_secret: bytes | None = None,
    workers: int | None = None,
    limits: Limits | None = None,
    progress: Callable[[int], None] | None = None,
    source_name: str | None = None,
    pool: IngestPool | None = None,
    upstream: Upstream | None = None,
    lines_and_keys_only: bool = False,
    as_of: int | None = None,
) -> Ingested:
    """Read ``path``, hand its entries to ``sink`` in order and return the tree. A schema with
    ``derivedFrom`` needs ``upstream``, the parents' records, against which refs are pinned.
    ``lines_and_keys_only``: the sink gets lines, keys and hashes but no entries (a check needs no more).
    A schema with rules gets its quality report, ``freshness`` judged at ``as_of`` (the
    manifest's ``createdAt``; now by default).

    Raises:
        InputError: the first problem found, naming file, line/row and column.
    """
    fmt = fmt or detect_format(path)
    limits = limits or Limits()
    check_runnable(schema.rules)
    if schema.salted and salt_secret is None:
        raise InputError("the schema is salted but no salt secret was given", code="input.missing-salt")
    if schema.derived_from is not None and upstream is None:
        raise InputError("a derived dataset's refs need its parents' records", code="lineage.no-parents")
    source = source_name or str(path)
    header, chunks = open_chunks(path, fmt, schema, source)
    salt = salt_secret if schema.salted else None
    ctx = Context(source, fmt, schema, header, salt, limits.max_record_bytes, max_refs=limits.max_refs)
    if lines_and_keys_only:
        ctx = replace(ctx, track_lines=True, keep_entries=False)
    if workers is None:
        workers = pool.workers if pool is not None else os.cpu_count() or 1
    try:
        big = fmt == "parquet" or path.stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        big = False
    workers = workers if big else 1
    with upstream_mod.shared(upstream or {}, in_process=workers <= 1) as tokens:
        ctx = replace(ctx, upstream=tokens)
        tree = _build(chunks, ctx, workers, pool, sink, limits, progress)
        _refuse_duplicate_keys(path, fmt, ctx, tree.key_hashes)
        report = None
        if tree.tally is not None:
            report = tree.tally.finish(
                tree.size,
                int(time.time()) if as_of is None else as_of,
                lambda wanted: _keys_and_lines(path, fmt, ctx, wanted),
                source,
            )
    return Ingested(size=tree.size, tree=tree.tree, source=source, fmt=fmt, quality=report)


@dataclass(frozen=True)
class _Built:
    size: int
    tree: MerkleTree
    key_hashes: bytes
    tally: QualityTally | None


def _build(
    chunks: Iterator[Chunk],
    ctx: Context,
    workers: int,
    pool: IngestPool | None,
    sink: EntrySink,
    limits: Limits,
    progress: Callable[[int], None] | None,
) -> _Built:
    results = _run(chunks, ctx, workers, pool)
    tally = QualityTally(ctx.schema.rules) if ctx.schema.rules else None
    hashes: list[bytes] = []
    key_hashes: list[bytes] = []
    size = 0
    for result in results:
        size += result.count
        if limits.max_records is not None and size > limits.max_records:
            raise LimitExceeded(
                f"more than {limits.max_records} records", code="input.too-many-records", source=ctx.source
            )
        sink.add(size - result.count, result)
        if tally is not None and result.quality is not None:
            tally.add(size - result.count, result.keys, result.quality)
        hashes.append(result.hashes)
        key_hashes.append(result.key_hashes)
        if progress is not None:
            progress(size)
    if tally is not None:
        tally.start_whole_file_rules()
    tree = MerkleTree.from_leaf_hashes(b"".join(hashes), threads=max(1, min(workers, 2)))
    return _Built(size, tree, b"".join(key_hashes), tally)


def _refuse_duplicate_keys(path: Path, fmt: str, ctx: Context, key_hashes: bytes) -> None:
    """Raise for the first record whose key repeats an earlier one.

    Keys are compared by their 64-bit hashes, sorted once at the end (pyarrow, C speed), instead
    of a dictionary of every key in this process: that cost the parent ~1.6 µs per record, on
    the critical path, and ~150 MB per million keys. Equal hashes are confirmed on the actual key
    texts by reading the file again (only then: a true duplicate, or a 1-in-10^19 collision).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(key_hashes) // 8
    if n < 2:
        return
    values = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(key_hashes)])
    order = pc.sort_indices(values)  # stable: equal hashes keep file order
    ordered = values.take(order)
    same = pc.indices_nonzero(pc.equal(ordered.slice(1), ordered.slice(0, n - 1)))
    if len(same) == 0:
        return
    positions = order.to_pylist()
    pairs = sorted((positions[p + 1], positions[p]) for p in same.to_pylist())[:1000]
    wanted = {i for pair in pairs for i in pair}
    found = _keys_and_lines(path, fmt, ctx, wanted)
    for second, first in pairs:
        (key2, line2), (key1, _) = found[second], found[first]
        if key1 == key2:
            raise InputError(
                f"duplicate record key {key2.decode()} (first seen as record {first + 1})",
                code="input.duplicate-key",
                source=ctx.source,
                line=line2,
            )


def _keys_and_lines(path: Path, fmt: str, ctx: Context, wanted: set[int]) -> dict[int, tuple[bytes, int]]:
    """Key texts and lines of the records at ``wanted`` indexes, by reading the file again."""
    _, chunks = open_chunks(path, fmt, ctx.schema, ctx.source)
    tracking = replace(ctx, track_lines=True, evaluate_rules=False)
    out: dict[int, tuple[bytes, int]] = {}
    offset = 0
    for chunk in chunks:
        result = process_chunk(chunk, tracking)
        keys = result.keys.split(b"\n")
        for i in wanted:
            if offset <= i < offset + result.count:
                out[i] = (keys[i - offset], result.lines[i - offset])
        offset += result.count
        if len(out) == len(wanted):
            break
    return out


def _run(
    chunks: Iterator[Chunk], ctx: Context, workers: int, pool: IngestPool | None
) -> Iterable[ChunkResult]:
    if workers <= 1:
        return (process_chunk(c, ctx) for c in chunks)
    if pool is not None:
        return _feed(pool.get(), chunks, ctx, pool.workers)
    return _one_off(chunks, ctx, workers)


def _work(task: tuple[Chunk, Context]) -> ChunkResult:
    return process_chunk(*task)


def _feed(pool: Pool, chunks: Iterator[Chunk], ctx: Context, workers: int) -> Iterator[ChunkResult]:
    pending: deque[AsyncResult[ChunkResult]] = deque()
    try:
        for chunk in chunks:
            pending.append(pool.apply_async(_work, ((chunk, ctx),)))
            # Bounded read-ahead keeps memory flat however large the file is.
            while len(pending) > 6 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
    finally:
        for result in pending:  # an error stopped us: let the workers finish what they hold
            result.wait()


def _one_off(chunks: Iterator[Chunk], ctx: Context, workers: int) -> Iterator[ChunkResult]:
    """A pool for one build (the CLI): fork, which a single-threaded process can use safely."""
    method = "fork" if threading.active_count() == 1 else "forkserver"
    pool: Pool = multiprocessing.get_context(method).Pool(workers)
    try:
        yield from _feed(pool, chunks, ctx, workers)
    finally:
        pool.terminate()
        pool.join()


class IngestPool:
    """Worker processes kept for the life of a service and shared by its ingests.

    A service runs other threads, so its workers cannot be forked from it; they come from a
    fork server, and a new one imports the service's whole main module first (web3, FastAPI,
    ...: ~3 s), which made every ingest of 1M records 30 % slower. Started once (``warm``, in
    the background at startup), they cost nothing per ingest.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: Pool | None = None
        self._lock = threading.Lock()

    def get(self) -> Pool:
        with self._lock:
            if self._pool is None:
                # Forked when this process has one thread (the CLI, before it starts any), else
                # from a fork server (a service: forking a threaded process can copy a held lock).
                method = "fork" if threading.active_count() == 1 else "forkserver"
                self._pool = multiprocessing.get_context(method).Pool(
                self.workers, initializer=_service_worker
            )
            return self._pool

    def warm(self) -> None:
        """Create the workers now and make each import the readers."""
        pool = self.get()
        pool.map(_import_readers, range(self.workers))

    def close(self, timeout: float = 3.0) -> None:
        """Stop the workers, within ``timeout`` seconds whatever state they are in.

        A signal to the whole process group (what ``systemctl stop`` sends) kills the workers
        too, and one may die holding the pool's task-queue lock: ``Pool.terminate`` then waits
        for that lock forever (the service hung there). So it runs in a thread given
        ``timeout``; whatever worker is left after that is killed, and the thread abandoned."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        stopping = threading.Thread(target=_terminate, args=(pool,), name="ingest-pool-stop", daemon=True)
        stopping.start()
        stopping.join(timeout)
        if stopping.is_alive():
            for child in multiprocessing.active_children():  # only the pool's workers run here
                child.kill()


def _terminate(pool: Pool) -> None:
    pool.terminate()
    pool.join()


INGEST_NICE = 10


def _service_worker() -> None:
    """A service's ingest worker: bulk work at a lower CPU priority than serving (on 2 cores, a
    1M-record upload's two workers otherwise took the CPU from proof requests: a burst of 200
    clients waited 5.3 s). It leaves a Ctrl-C (SIGINT to the terminal's process group) to the
    service, which stops it; SIGTERM still ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(INGEST_NICE)


def _import_readers(_: int) -> None:
    import provenance.records.readers  # noqa: F401
