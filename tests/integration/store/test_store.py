"""The store on SQLite and PostgreSQL: migrations, snapshots, stored trees, log, outbox."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from provenance.errors import ConflictError, NotFoundError
from provenance.merkle import MerkleTree, leaf_hashes
from provenance.records.chunks import ChunkResult
from provenance.server.store.database import Database
from provenance.server.store.log import LogRepository
from provenance.server.store.models import Base, DatasetRow, KeyIndexChunkRow, RecordBlockRow, SnapshotRow
from provenance.server.store.outbox import OutboxRepository
from provenance.server.store.record_blocks import RecordWriter
from provenance.server.store.snapshots import SnapshotRepository
from provenance.server.store.sources import SourceRepository
from provenance.server.store.verifications import VerificationRepository


def test_migrations_match_the_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db.migrate()  # idempotent
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


_names = itertools.count()


def add_dataset(db: Database, name: str = "tm/test") -> int:
    with db.session() as s:
        row = DatasetRow(
            name=name,
            dataset_id=hashlib.sha256(name.encode()).digest(),
            schema_json="{}",
            anchor_mode="checkpoint",
        )
        s.add(row)
        s.flush()
        return row.id


def chunk(entries: list[bytes], keys: list[bytes]) -> ChunkResult:
    return ChunkResult(
        len(entries),
        b"".join(e + b"\n" for e in entries),
        b"".join(k + b"\n" for k in keys),
        leaf_hashes(entries),
        tuple(range(len(entries))),
        b"".join(hashlib.sha256(k).digest()[:8] for k in keys),
    )


def build_snapshot(
    db: Database, store: SnapshotRepository, ds: int, version: int, n: int
) -> tuple[int, MerkleTree]:
    entries = [json.dumps({"record": {"i": i}}).encode() for i in range(n)]
    keys = [json.dumps([f"k{i}"]).encode() for i in range(n)]
    pk = store.begin(ds, version)
    writer = RecordWriter(db, pk)
    for start in range(0, n, 97):
        writer.add(start, chunk(entries[start : start + 97], keys[start : start + 97]))
    writer.finish()
    tree = MerkleTree.from_leaf_inputs(entries)
    store.write_tree(pk, getattr(tree.source, "levels", []))
    return pk, tree


def complete(db: Database, store: SnapshotRepository, pk: int, tree: MerkleTree, digest: bytes) -> None:
    with db.session() as s:
        index = LogRepository(db).append(s, digest, pk)
        store.complete(
            s,
            pk,
            size=tree.size,
            root=tree.root,
            digest=digest,
            signed_manifest="{}",
            signer="0x" + "11" * 20,
            log_index=index,
        )


def test_snapshot_is_invisible_until_complete(db: Database) -> None:
    store = SnapshotRepository(db)
    ds = add_dataset(db)
    pk, tree = build_snapshot(db, store, ds, 1, 300)
    with db.session() as s, pytest.raises(NotFoundError):
        store.get(s, "tm/test", 1)
    with pytest.raises(ConflictError) as err:
        store.begin(ds, 1)
    assert err.value.code == "snapshot.in-progress"
    complete(db, store, pk, tree, b"\x01" * 32)
    with db.session() as s:
        info = store.get(s, "tm/test", 1)
        assert (info.size, info.root, info.log_index) == (300, tree.root, 0)
        assert store.find_record(pk, b'["k17"]') == (17, b'{"record": {"i": 17}}')
        with pytest.raises(NotFoundError):
            store.find_record(pk, b'["nope"]')
    with pytest.raises(ConflictError) as err:
        store.begin(ds, 1)
    assert err.value.code == "snapshot.exists"


def test_failed_and_stale_builds_leave_nothing(db: Database) -> None:
    store = SnapshotRepository(db)
    ds = add_dataset(db)
    pk, _ = build_snapshot(db, store, ds, 1, 150)
    store.discard(pk)
    pk2, _ = build_snapshot(db, store, ds, 1, 150)  # the version is free again
    assert store.discard_stale(older_than=timedelta(0)) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(RecordBlockRow)) == 0
        assert s.scalar(select(func.count()).select_from(KeyIndexChunkRow)) == 0
        assert s.scalar(select(func.count()).select_from(SnapshotRow)) == 0
    # a complete snapshot is never discarded
    pk3, tree = build_snapshot(db, store, ds, 1, 10)
    complete(db, store, pk3, tree, b"\x02" * 32)
    assert store.discard_stale(older_than=timedelta(0)) == 0
    assert pk2 != pk3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.sampled_from([1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 4097]) | st.integers(1, 3000),
    data=st.data(),
)
def test_stored_tree_proofs_equal_in_memory_proofs(db: Database, n: int, data: st.DataObject) -> None:
    store = SnapshotRepository(db)
    name = f"tm/tree-{next(_names)}"
    ds = add_dataset(db, name)
    pk, tree = build_snapshot(db, store, ds, 1, n)
    stored = store.tree(pk, n)
    assert stored.root == tree.root
    i = data.draw(st.integers(0, n - 1))
    assert stored.inclusion_proof(i) == tree.inclusion_proof(i)
    m = data.draw(st.integers(1, n))
    assert stored.consistency_proof(m) == tree.consistency_proof(m)
    store._chunks.clear()  # and again from the database, not the cache
    assert store.tree(pk, n).inclusion_proof(i) == tree.inclusion_proof(i)


def test_ledger_log_and_checkpoints(db: Database) -> None:
    store, log = SnapshotRepository(db), LogRepository(db)
    ds = add_dataset(db)
    digests = []
    for v in range(1, 6):
        pk, tree = build_snapshot(db, store, ds, v, 3)
        digests.append(bytes([v]) * 32)
        complete(db, store, pk, tree, digests[-1])
    assert log.tree().root == MerkleTree.from_leaf_inputs(digests).root
    with db.session() as s:
        assert log.size(s) == 5
        assert log.index_of(s, digests[2]) == 2
        log.add_checkpoint(s, 3, MerkleTree.from_leaf_inputs(digests[:3]).root, "note-3")
        log.add_checkpoint(s, 5, log.tree().root, "note-5")
    with db.session() as s:
        latest = log.latest_checkpoint(s)
        assert latest is not None
        assert (latest.size, latest.note) == (5, "note-5")
        assert [c.size for c in log.checkpoints(s)] == [5, 3]


def test_outbox_and_sources(db: Database) -> None:
    outbox, sources = OutboxRepository(db), SourceRepository(db)
    with db.session() as s:
        a = outbox.enqueue(s, "checkpoint", 31337, "0x" + "00" * 20)
        b = outbox.enqueue(s, "checkpoint", 31337, "0x" + "00" * 20)
    with db.session() as s:
        outbox.set_state(s, a.id, "mined", tx_hash=b"\x01" * 32, block_number=3, block_hash=b"\x02" * 32)
        outbox.set_state(s, b.id, "confirmed")
    with db.session() as s:
        assert [r.id for r in outbox.open_anchors(s)] == [a.id]
        assert outbox.listing(s, "confirmed")[0].id == b.id
        src = sources.register(s, "0x" + "ab" * 20, "pub")
        assert sources.register(s, "0x" + "ab" * 20, "again").id == src.id  # idempotent
        assert [r.address for r in sources.pending_chain_updates(s)] == [src.address]
        sources.revoke(s, src.address)
    with db.session() as s, pytest.raises(ConflictError):
        sources.register(s, "0x" + "ab" * 20, "back")
    with db.session() as s:
        row = VerificationRepository(db).record(
            s, b"{}", {"status": "valid"}, dataset="x", version=1, client="127.0.0.1", offline=False
        )
        assert row.status == "valid"
