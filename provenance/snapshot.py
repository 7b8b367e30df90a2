"""Build a snapshot from a data file: chunks → (worker processes) entries → tree.

The parent process only cuts the file, checks record keys for duplicates and hands entries to
a sink; canonicalisation and leaf hashing run in worker processes (one per core), and the
tree levels are hashed by native code on two threads. Nothing is handed to the sink's
``commit`` unless the whole file was read without error, so a failed build leaves nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Protocol

from provenance.errors import InputError, LimitExceeded
from provenance.merkle import MerkleTree
from provenance.records.readers import (
    Chunk,
    ChunkResult,
    Context,
    detect_format,
    open_chunks,
    process_chunk,
)
from provenance.records.schema import Schema

# Files below this size are read in-process: starting workers costs more than it saves.
PARALLEL_MIN_BYTES = 8 << 20


class EntrySink(Protocol):
    """Receives each chunk's entries in order; the builder never calls it after an error."""

    def add(self, first_index: int, result: ChunkResult) -> None: ...


@dataclass(frozen=True)
class Built:
    size: int
    tree: MerkleTree
    source: str
    fmt: str

    @property
    def root(self) -> bytes:
        return self.tree.root


@dataclass(frozen=True)
class Limits:
    max_records: int | None = None
    max_record_bytes: int = 1 << 20


def build(
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
) -> Built:
    """Read ``path``, hand its entries to ``sink`` in order and return the tree.

    Raises:
        InputError: the first problem found, naming file, line/row and column.
    """
    fmt = fmt or detect_format(path)
    limits = limits or Limits()
    if schema.salted and salt_secret is None:
        raise InputError("the schema is salted but no salt secret was given", code="input.missing-salt")
    source = source_name or str(path)
    header, chunks = open_chunks(path, fmt, schema)
    ctx = Context(
        source=source,
        fmt=fmt,
        schema=schema,
        header=header,
        salt_secret=salt_secret if schema.salted else None,
        max_record_bytes=limits.max_record_bytes,
    )
    if workers is None:
        workers = os.cpu_count() or 1
    try:
        big = fmt == "parquet" or path.stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        big = False
    results = _run(chunks, ctx, workers if big else 1)
    seen: dict[bytes, int] = {}
    hashes: list[bytes] = []
    size = 0
    for result in results:
        keys = result.keys.split(b"\n")[:-1]
        _add_keys(seen, keys, size, result, source)
        size += result.count
        if limits.max_records is not None and size > limits.max_records:
            raise LimitExceeded(
                f"more than {limits.max_records} records", code="input.too-many-records", source=source
            )
        sink.add(size - result.count, result)
        hashes.append(result.hashes)
        if progress is not None:
            progress(size)
    tree = MerkleTree.from_leaf_hashes(b"".join(hashes), threads=max(1, min(workers, 2)))
    return Built(size=size, tree=tree, source=source, fmt=fmt)


def _add_keys(
    seen: dict[bytes, int], keys: list[bytes], first: int, result: ChunkResult, source: str
) -> None:
    before = len(seen)
    if seen.keys().isdisjoint(keys):
        seen.update(zip(keys, range(first, first + len(keys)), strict=True))
        if len(seen) == before + len(keys):
            return
        for k in keys:  # a duplicate inside this chunk: undo and find it
            seen.pop(k, None)
    for j, k in enumerate(keys):
        if k in seen:
            raise InputError(
                f"duplicate record key {k.decode()} (first seen as record {seen[k] + 1})",
                code="input.duplicate-key",
                source=source,
                line=result.lines[j],
            )
        seen[k] = first + j


def _run(chunks: Iterator[Chunk], ctx: Context, workers: int) -> Iterable[ChunkResult]:
    if workers <= 1:
        return (process_chunk(c, ctx) for c in chunks)
    return _parallel(chunks, ctx, workers)


_CTX: Context | None = None


def _init_worker(ctx: Context) -> None:
    global _CTX
    _CTX = ctx


def _work(chunk: Chunk) -> ChunkResult:
    assert _CTX is not None
    return process_chunk(chunk, _CTX)


def _parallel(chunks: Iterator[Chunk], ctx: Context, workers: int) -> Iterator[ChunkResult]:
    # fork is cheapest and needs no importable __main__, but forking a process that runs other
    # threads (the service) can copy a held lock into the child: use forkserver there.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    mp = multiprocessing.get_context(method)
    pool: Pool = mp.Pool(workers, initializer=_init_worker, initargs=(ctx,))
    pending: deque[AsyncResult[ChunkResult]] = deque()
    try:
        for chunk in chunks:
            pending.append(pool.apply_async(_work, (chunk,)))
            # Bounded read-ahead keeps memory flat however large the file is.
            while len(pending) > 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
    finally:
        pool.terminate()
        pool.join()
