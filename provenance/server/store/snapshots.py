"""Datasets, snapshots, records and stored trees.

A snapshot is written in state ``building`` in batches (so a 10 M-record ingest neither holds one
huge transaction nor blocks the anchoring worker for its whole duration) and becomes visible
only when :meth:`SnapshotRepository.complete` flips it to ``complete``. A crash leaves a ``building``
row that no reader sees; :meth:`SnapshotRepository.discard_stale` removes it later.

Trees are stored as chunks of ``CHUNK`` hashes per level, so an inclusion proof reads one short
row per level (≈ 2 KiB each) in a single query, whatever the snapshot's size.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from provenance.errors import ConflictError, NotFoundError
from provenance.merkle import HASH_LEN, MerkleTree, level_sizes, parent_level
from provenance.records.readers import ChunkResult
from provenance.server.store.database import Database
from provenance.server.store.models import (
    DatasetRow,
    KeyIndexChunkRow,
    RecordBlockRow,
    SnapshotRow,
    TreeChunkRow,
)

CHUNK = 64
BLOCK = 64  # records per record_blocks row (~10 KiB: what one proof reads)
BLOCK_LEVELS = 6  # log2(BLOCK): tree levels 1..6 are stored in the block rows
KEY_CHUNK = 256  # (hash, leaf index) pairs per key-index row: 4 KiB
STALE_AFTER = timedelta(seconds=15)  # building rows heartbeat every batch (well under 1 s apart)
_BATCH_ROWS = 50_000


def key_hash(key_text: bytes) -> int:
    """The signed 64-bit lookup hash of a record key: the first 8 bytes of its SHA-256, read as a
    little-endian int64 (as the readers compute them, ``ChunkResult.key_hashes``)."""
    return int.from_bytes(hashlib.sha256(key_text).digest()[:8], "little", signed=True)


@dataclass(frozen=True)
class SnapshotInfo:
    pk: int
    dataset: str
    version: int
    size: int
    root: bytes
    digest: bytes
    signed_manifest: str
    signer: str
    log_index: int | None
    created_at: datetime


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
        if len(self._rows) * BLOCK >= _BATCH_ROWS:
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
            _insert_rows(s, "record_blocks", ("snapshot_pk", "block", "entries", "keys", "nodes"), rows)
            _heartbeat(s, self.snapshot_pk)

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
            _insert_rows(s, "key_index", ("snapshot_pk", "chunk", "first_hash", "pairs"), rows[i : i + 1000])
            _heartbeat(s, snapshot_pk)


def _insert_rows(s: Session, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[object]]) -> None:
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


def _heartbeat(s: Session, snapshot_pk: int) -> None:
    """A building snapshot's ``created_at`` is its last sign of life (see ``discard_stale``)."""
    s.execute(update(SnapshotRow).where(SnapshotRow.id == snapshot_pk).values(created_at=datetime.now(UTC)))


class SnapshotRepository:
    """Datasets, snapshots, their records (in blocks), key index and stored trees."""

    def __init__(self, db: Database, stale_after: timedelta = STALE_AFTER) -> None:
        self.db = db
        self.stale_after = stale_after
        self._chunks: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._chunk_lock = threading.Lock()
        self._blocks: OrderedDict[tuple[int, int], Block] = OrderedDict()
        self.cache_chunks = 20_000  # ~40 MiB: the upper levels of every hot tree stay in memory

    # --- datasets --------------------------------------------------------------------------

    def dataset(self, s: Session, name: str) -> DatasetRow | None:
        return s.scalar(select(DatasetRow).where(DatasetRow.name == name))

    def datasets(self, s: Session) -> list[DatasetRow]:
        return list(s.scalars(select(DatasetRow).order_by(DatasetRow.name)))

    def require_dataset(self, s: Session, name: str) -> DatasetRow:
        ds = self.dataset(s, name)
        if ds is None:
            raise NotFoundError(f"no dataset {name!r}", code="dataset.not-found")
        return ds

    # --- building ----------------------------------------------------------------------------

    def begin(self, dataset_pk: int, version: int) -> int:
        """A ``building`` snapshot row; refuses a version being built or already complete."""
        with self.db.session() as s:
            existing = s.scalar(
                select(SnapshotRow).where(
                    SnapshotRow.dataset_pk == dataset_pk, SnapshotRow.version == version
                )
            )
            if existing is not None:
                if existing.state == "complete":
                    raise ConflictError(f"version {version} already exists", code="snapshot.exists")
                if _aware(existing.created_at) > datetime.now(UTC) - self.stale_after:
                    raise ConflictError(
                        f"version {version} is being ingested right now", code="snapshot.in-progress"
                    )
                s.delete(existing)  # a stale leftover of a crashed ingest
                s.flush()
            row = SnapshotRow(
                dataset_pk=dataset_pk, version=version, state="building", size=0, created_at=datetime.now(UTC)
            )
            s.add(row)
            s.flush()
            return row.id

    def write_tree(self, snapshot_pk: int, levels: Sequence[bytes]) -> None:
        """Store the levels above ``BLOCK_LEVELS``; the record blocks hold the ones below (level
        0 is never stored: a leaf hash is SHA-256(0x00 || entry) of a record the block holds).
        A 10 M-record tree keeps ~5 MiB here, all of it hot in the chunk cache."""
        step = CHUNK * HASH_LEN
        rows = [
            (snapshot_pk, level, c // step, data[c : c + step])
            for level, data in enumerate(levels)
            if level > BLOCK_LEVELS
            for c in range(0, len(data), step)
        ]
        for i in range(0, len(rows), _BATCH_ROWS):
            with self.db.session() as s:
                _insert_rows(
                    s, "tree_chunks", ("snapshot_pk", "level", "chunk", "hashes"), rows[i : i + _BATCH_ROWS]
                )
                _heartbeat(s, snapshot_pk)

    def complete(
        self,
        s: Session,
        snapshot_pk: int,
        *,
        size: int,
        root: bytes,
        digest: bytes,
        signed_manifest: str,
        signer: str,
        log_index: int | None,
    ) -> None:
        s.execute(
            update(SnapshotRow)
            .where(SnapshotRow.id == snapshot_pk)
            .values(
                state="complete",
                size=size,
                root=root,
                digest=digest,
                signed_manifest=signed_manifest,
                signer=signer,
                log_index=log_index,
                created_at=datetime.now(UTC),
            )
        )

    def discard(self, snapshot_pk: int) -> None:
        with self.db.session() as s:
            self._delete(s, [snapshot_pk])

    def discard_stale(self, older_than: timedelta | None = None) -> int:
        """Remove ``building`` snapshots whose ingest stopped (crash): nobody ever saw them."""
        cutoff = datetime.now(UTC) - (self.stale_after if older_than is None else older_than)
        with self.db.session() as s:
            pks = list(
                s.scalars(
                    select(SnapshotRow.id).where(
                        SnapshotRow.state == "building", SnapshotRow.created_at < cutoff
                    )
                )
            )
            self._delete(s, pks)
        return len(pks)

    def _delete(self, s: Session, pks: list[int]) -> None:
        if not pks:
            return
        # explicit, not ON DELETE CASCADE: SQLite only cascades with foreign_keys on, and a
        # 10 M-row cascade is better done table by table
        s.execute(delete(RecordBlockRow).where(RecordBlockRow.snapshot_pk.in_(pks)))
        s.execute(delete(KeyIndexChunkRow).where(KeyIndexChunkRow.snapshot_pk.in_(pks)))
        s.execute(delete(TreeChunkRow).where(TreeChunkRow.snapshot_pk.in_(pks)))
        s.execute(delete(SnapshotRow).where(SnapshotRow.id.in_(pks), SnapshotRow.state == "building"))

    # --- reading -----------------------------------------------------------------------------

    def get(self, s: Session, dataset: str, version: int) -> SnapshotInfo:
        row = s.execute(
            select(SnapshotRow, DatasetRow.name)
            .join(DatasetRow, DatasetRow.id == SnapshotRow.dataset_pk)
            .where(
                DatasetRow.name == dataset, SnapshotRow.version == version, SnapshotRow.state == "complete"
            )
        ).first()
        if row is None:
            raise NotFoundError(f"no snapshot {dataset} v{version}", code="snapshot.not-found")
        return _info(row[0], row[1])

    def row_and_dataset(self, s: Session, snapshot_pk: int) -> tuple[SnapshotRow, DatasetRow]:
        snap = s.get(SnapshotRow, snapshot_pk)
        ds = None if snap is None else s.get(DatasetRow, snap.dataset_pk)
        if snap is None or ds is None:
            raise NotFoundError(f"no snapshot {snapshot_pk}", code="snapshot.not-found")
        return snap, ds

    def versions(self, s: Session, dataset_pk: int) -> list[SnapshotRow]:
        return list(
            s.scalars(
                select(SnapshotRow)
                .where(SnapshotRow.dataset_pk == dataset_pk, SnapshotRow.state == "complete")
                .order_by(SnapshotRow.version)
            )
        )

    def latest_version(self, s: Session, dataset_pk: int) -> int:
        v = s.scalar(
            select(SnapshotRow.version)
            .where(SnapshotRow.dataset_pk == dataset_pk, SnapshotRow.state == "complete")
            .order_by(SnapshotRow.version.desc())
            .limit(1)
        )
        return int(v or 0)

    def find_record(self, snapshot_pk: int, key: bytes) -> tuple[int, bytes]:
        """Leaf index and entry of the record with key text ``key`` (the proof hot path: plain
        driver SQL on one pooled connection, no ORM session)."""
        h = key_hash(key)
        with self.db.engine.connect() as conn:
            row = conn.exec_driver_sql(
                self._sql(
                    "SELECT pairs FROM key_index WHERE snapshot_pk = ? AND first_hash <= ? "
                    "ORDER BY first_hash DESC LIMIT 1"
                ),
                (snapshot_pk, h),
            ).first()
            if row is not None:
                pairs = bytes(row[0])
                n = len(pairs) // 16
                view = memoryview(pairs)
                hashes, indexes = view[: n * 8].cast("q"), view[n * 8 :].cast("q")
                i = bisect.bisect_left(hashes, h)
                while i < n and hashes[i] == h:
                    index = int(indexes[i])
                    block = self._block(conn, snapshot_pk, index // BLOCK)
                    if block.keys[index % BLOCK] == key:
                        return index, block.entries[index % BLOCK]
                    i += 1
        raise NotFoundError(f"no record with key {key.decode()}", code="record.not-found")

    def _sql(self, text: str) -> str:
        """Driver SQL written with ``?`` placeholders, in the driver's own style."""
        return text if self.db.engine.dialect.name == "sqlite" else text.replace("?", "%s")

    def _block(self, conn: Any, snapshot_pk: int, block: int) -> Block:
        """One record block (a proof reads one: its record, the sibling leaf and the path nodes
        up to the block's root)."""
        with self._chunk_lock:
            hit = self._blocks.get((snapshot_pk, block))
            if hit is not None:
                self._blocks.move_to_end((snapshot_pk, block))
                return hit
        row = conn.exec_driver_sql(
            self._sql("SELECT entries, keys, nodes FROM record_blocks WHERE snapshot_pk = ? AND block = ?"),
            (snapshot_pk, block),
        ).first()
        if row is None:
            raise NotFoundError(
                f"record block {block} of snapshot {snapshot_pk} is missing", code="storage.records-damaged"
            )
        value = Block(bytes(row[0]).split(b"\n"), bytes(row[1]).split(b"\n"), bytes(row[2]))
        with self._chunk_lock:
            self._blocks[(snapshot_pk, block)] = value
            while len(self._blocks) > 256:
                self._blocks.popitem(last=False)
        return value

    def entries(self, s: Session, snapshot_pk: int) -> list[bytes]:
        """All leaf inputs in order (consistency checks, exports)."""
        out: list[bytes] = []
        for (blob,) in s.execute(
            select(RecordBlockRow.entries)
            .where(RecordBlockRow.snapshot_pk == snapshot_pk)
            .order_by(RecordBlockRow.block)
        ):
            out += bytes(blob).split(b"\n")
        return out

    def tree(self, snapshot_pk: int, size: int) -> MerkleTree:
        return MerkleTree(_StoredTree(self, snapshot_pk, size))

    def _load_chunks(self, snapshot_pk: int, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        missing = []
        with self._chunk_lock:
            for lc in wanted:
                hit = self._chunks.get((snapshot_pk, *lc))
                if hit is None:
                    missing.append(lc)
                else:
                    self._chunks.move_to_end((snapshot_pk, *lc))
                    out[lc] = hit
        if missing:
            with self.db.engine.connect() as conn:
                rows = _fetch_chunks(conn, self.db.engine.dialect.name == "sqlite", snapshot_pk, missing)
            with self._chunk_lock:
                for level, chunk, data in rows:
                    out[(level, chunk)] = bytes(data)
                    self._chunks[(snapshot_pk, level, chunk)] = bytes(data)
                while len(self._chunks) > self.cache_chunks:
                    self._chunks.popitem(last=False)
        return out


def _fetch_chunks(conn: Any, sqlite: bool, snapshot_pk: int, wanted: list[tuple[int, int]]) -> list[Any]:
    # One primary-key lookup per chunk (~20 us on SQLite). SQLite plans "(level, chunk) IN (...)"
    # as a scan of the snapshot's chunks (30 ms at 10 M records), and an OR of exact terms too.
    sql = "SELECT level, chunk, hashes FROM tree_chunks WHERE snapshot_pk = ? AND level = ? AND chunk = ?"
    if not sqlite:
        sql = sql.replace("?", "%s")
    out: list[Any] = []
    for level, chunk in wanted:
        out += conn.exec_driver_sql(sql, (snapshot_pk, level, chunk)).fetchall()
    return out


class _StoredTree:
    """A :class:`~provenance.merkle.NodeSource` over ``tree_chunks`` rows (levels >= 1) and the
    record blocks (level 0: leaf hashes recomputed from the stored entries)."""

    def __init__(self, store: SnapshotRepository, snapshot_pk: int, size: int) -> None:
        self.store, self.snapshot_pk, self._size = store, snapshot_pk, size
        self._levels = level_sizes(size)

    @property
    def size(self) -> int:
        return self._size

    def nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        low = {i >> (BLOCK_LEVELS - k) for k, i in coords if k <= BLOCK_LEVELS}
        blocks: dict[int, Block] = {}
        if low:
            with self.store.db.engine.connect() as conn:
                blocks = {b: self.store._block(conn, self.snapshot_pk, b) for b in sorted(low)}
        chunks = self.store._load_chunks(
            self.snapshot_pk, {(k, i // CHUNK) for k, i in coords if k > BLOCK_LEVELS}
        )
        out = []
        for k, i in coords:
            if k <= BLOCK_LEVELS:
                b = i >> (BLOCK_LEVELS - k)
                out.append(blocks[b].node(k, i - (b << (BLOCK_LEVELS - k))))
                continue
            data = chunks.get((k, i // CHUNK))
            offset = (i % CHUNK) * HASH_LEN
            if data is None or len(data) < offset + HASH_LEN:
                raise NotFoundError(
                    f"tree node {k}/{i} of snapshot {self.snapshot_pk} is missing",
                    code="storage.tree-damaged",
                )
            out.append(data[offset : offset + HASH_LEN])
        return out


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


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _info(row: SnapshotRow, name: str) -> SnapshotInfo:
    assert row.root is not None
    assert row.digest is not None
    return SnapshotInfo(
        row.id,
        name,
        row.version,
        row.size,
        bytes(row.root),
        bytes(row.digest),
        row.signed_manifest or "",
        row.signer or "",
        row.log_index,
        row.created_at,
    )
