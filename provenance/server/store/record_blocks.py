"""Writing a building snapshot's records: blocks of ``BLOCK`` records, each with its own subtree,
and the sorted key index, in batches (so a 10 M-record ingest neither holds one huge transaction
nor blocks the anchoring worker for its whole duration)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from provenance.errors import NotFoundError
from provenance.merkle import HASH_LEN, parent_level
from provenance.records.chunks import ChunkResult
from provenance.server.store.database import Database
from provenance.server.store.models import SnapshotRow

BLOCK = 64  # records per record_blocks row (~10 KiB: what one proof reads)
BLOCK_LEVELS = 6  # log2(BLOCK): tree levels 1..6 are stored in the block rows
KEY_CHUNK = 256  # (hash, leaf index) pairs per key-index row: 4 KiB
BATCH_ROWS = 50_000


def key_hash(key_text: bytes) -> int:
    """The signed 64-bit lookup hash of a record key: the first 8 bytes of its SHA-256, read as a
    little-endian int64 (as the readers compute them, ``ChunkResult.key_hashes``)."""
    return int.from_bytes(hashlib.sha256(key_text).digest()[:8], "little", signed=True)


class RecordWriter:
    """An :class:`~provenance.ingest.EntrySink` writing a building snapshot's records in blocks.

    Records go in leaf order, ``BLOCK`` per row, each row with the block's own subtree (tree
    levels 1..``BLOCK_LEVELS``, computed from its leaf hashes), so that a proof reads one block
    and takes the rest of its path from the few upper-level chunks every proof shares. The key
    index is built once at the end, by :meth:`finish`, from the key hashes the readers computed.
    """

    def __init__(self, db: Database, snapshot_pk: int) -> None:
        self.db = db
        self.snapshot_pk = snapshot_pk
        self._entries: list[bytes] = []
        self._keys: list[bytes] = []
        self._leaves = bytearray()
        self._next_block = 0
        self._rows: list[list[Any]] = []
        self._hashes: list[bytes] = []

    def add(self, first_index: int, result: ChunkResult) -> None:
        self._entries += result.entries.split(b"\n")[: result.count]
        self._keys += result.keys.split(b"\n")[: result.count]
        self._leaves += result.hashes
        self._hashes.append(result.key_hashes)
        while len(self._entries) >= BLOCK:
            self._cut(BLOCK)
        if len(self._rows) * BLOCK >= BATCH_ROWS:
            self._write()

    def _cut(self, n: int) -> None:
        entries, keys = b"\n".join(self._entries[:n]), b"\n".join(self._keys[:n])
        self._rows.append(
            [self.snapshot_pk, self._next_block, entries, keys, bytes(self._leaves[: n * HASH_LEN])]
        )
        del self._entries[:n], self._keys[:n], self._leaves[: n * HASH_LEN]
        self._next_block += 1

    def _write(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        _add_subtrees(rows)
        with self.db.session() as s:
            insert_rows(s, "record_blocks", ("snapshot_pk", "block", "entries", "keys", "nodes"), rows)
            heartbeat(s, self.snapshot_pk)

    def finish(self) -> None:
        """Write what is left and the sorted key index."""
        if self._entries:
            self._cut(len(self._entries))
        self._write()
        write_key_index(self.db, self.snapshot_pk, b"".join(self._hashes))
        self._hashes = []


def _add_subtrees(rows: list[list[Any]]) -> None:
    """Replace each row's leaf hashes (last column) by its subtree levels 1..BLOCK_LEVELS.

    Full blocks are aligned to BLOCK, so hashing the levels of all of them at once never pairs
    nodes of two blocks: six native calls for a whole batch instead of six per block."""
    full = [r for r in rows if len(r[4]) == BLOCK * HASH_LEN]
    partial = [r for r in rows if len(r[4]) != BLOCK * HASH_LEN]
    if full:
        level = b"".join(r[4] for r in full)
        per_block = [bytearray() for _ in full]
        width = BLOCK * HASH_LEN
        for _ in range(BLOCK_LEVELS):
            level = parent_level(level)
            width //= 2
            for j, out in enumerate(per_block):
                out += level[j * width : (j + 1) * width]
        for r, nodes in zip(full, per_block, strict=True):
            r[4] = bytes(nodes)
    for r in partial:  # only ever the last block of a snapshot
        r[4] = b"".join(block_levels(r[4])[1:])


def block_levels(leaf_hashes: bytes) -> list[bytes]:
    """Levels 0..BLOCK_LEVELS of one block's subtree (fewer nodes for a short last block).

    Blocks start at multiples of BLOCK, a power of two, so these are exactly the nodes of the
    whole tree above the block's leaves (the right edge promotes odd nodes the same way)."""
    levels = [leaf_hashes]
    for _ in range(BLOCK_LEVELS):
        levels.append(parent_level(levels[-1]) if len(levels[-1]) > HASH_LEN else levels[-1])
    return levels


def write_key_index(db: Database, snapshot_pk: int, hashes: bytes) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(hashes) // 8
    if n == 0:
        return
    values = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(hashes)])
    order = pc.sort_indices(values)  # positions in leaf order = the leaf indexes
    hash_bytes = values.take(order).buffers()[1].to_pybytes()[: n * 8]
    index_bytes = order.cast(pa.int64()).buffers()[1].to_pybytes()[: n * 8]
    sorted_hashes = memoryview(hash_bytes).cast("q")
    rows: list[tuple[object, ...]] = []
    start = 0
    while start < n:
        stop = min(start + KEY_CHUNK, n)
        while stop < n and sorted_hashes[stop] == sorted_hashes[stop - 1]:
            stop += 1  # equal hashes never straddle two rows
        pairs = hash_bytes[start * 8 : stop * 8] + index_bytes[start * 8 : stop * 8]
        rows.append((snapshot_pk, len(rows), sorted_hashes[start], pairs))
        start = stop
    for i in range(0, len(rows), 1000):
        with db.session() as s:
            insert_rows(s, "key_index", ("snapshot_pk", "chunk", "first_hash", "pairs"), rows[i : i + 1000])
            heartbeat(s, snapshot_pk)


def insert_rows(s: Session, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[object]]) -> None:
    """Bulk insert through the driver: SQLAlchemy's per-row bookkeeping cost more than SQLite did."""
    conn = s.connection()
    raw: Any = conn.connection.driver_connection
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    placeholders = ", ".join([mark] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608 - fixed names
    if conn.dialect.name == "sqlite":
        raw.executemany(sql, rows)
    else:
        with raw.cursor() as cur:
            cur.executemany(sql, rows)


def heartbeat(s: Session, snapshot_pk: int) -> None:
    """A building snapshot's ``created_at`` is its last sign of life (see ``discard_stale``)."""
    s.execute(update(SnapshotRow).where(SnapshotRow.id == snapshot_pk).values(created_at=datetime.now(UTC)))


@dataclass
class Block:
    """A record block as read back: entries, keys, and its subtree's levels 1..BLOCK_LEVELS."""

    entries: list[bytes]
    keys: list[bytes]
    nodes: bytes

    def node(self, level: int, pos: int) -> bytes:
        """Node ``pos`` (counted within this block) of tree level ``level``."""
        if level == 0:
            return _leaf_hash(self.entries[pos])
        offset, count = 0, len(self.entries)
        for _ in range(1, level):
            count = (count + 1) // 2
            offset += count
        count = (count + 1) // 2
        if not 0 <= pos < count:
            raise NotFoundError(f"no node {pos} at level {level} of this block", code="storage.tree-damaged")
        start = (offset + pos) * HASH_LEN
        return self.nodes[start : start + HASH_LEN]


def _leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def fetch_chunks(conn: Any, sqlite: bool, snapshot_pk: int, wanted: list[tuple[int, int]]) -> list[Any]:
    # One primary-key lookup per chunk (~20 us on SQLite). SQLite plans "(level, chunk) IN (...)"
    # as a scan of the snapshot's chunks (30 ms at 10 M records), and an OR of exact terms too.
    sql = "SELECT level, chunk, hashes FROM tree_chunks WHERE snapshot_pk = ? AND level = ? AND chunk = ?"
    if not sqlite:
        sql = sql.replace("?", "%s")
    out: list[Any] = []
    for level, chunk in wanted:
        out += conn.exec_driver_sql(sql, (snapshot_pk, level, chunk)).fetchall()
    return out
