"""The anchoring worker against crashes at exact points (what a kill -9 cannot aim at)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from provenance.anchoring import AnchorWorker
from provenance.config import Settings
from provenance.records.schema import Schema
from provenance.service import Service, open_service
from provenance.store import outbox
from provenance.store.models import Anchor


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = Settings(
        data_dir=tmp_path,
        chain_backend="embedded",
        key_password="test-password-1",
        checkpoint_interval=0.01,
        load_sample=False,
    )
    svc = open_service(settings)
    svc.ledger.create_dataset("tm/direct", Schema(("k",)), anchor_mode="direct", signing_key="dev-source")
    yield svc
    svc.close()


def fresh_worker(svc: Service) -> AnchorWorker:
    """A worker with no memory of the previous one, as after a process restart."""
    return AnchorWorker(
        svc.ledger,
        svc.client,
        svc.account,
        checkpoint_interval=0.01,
        deploy_block=svc.deployment.deploy_block,
    )


def ingest(svc: Service, tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.csv"
    path.write_text(f"k,v\na,{version}\nb,{version}\n")
    svc.ledger.ingest("tm/direct", path)


def direct_row(svc: Service, version: int) -> Anchor:
    info = svc.ledger.snapshot("tm/direct", version)
    with svc.db.session() as s:
        row = outbox.for_snapshot(s, info.pk)
        assert row is not None
        return row


def events(svc: Service) -> list[int]:
    return [
        e["args"]["version"] for e in svc.client.find_events("SnapshotAnchored", svc.deployment.deploy_block)
    ]


def test_crash_after_signing_before_sending(service: Service, tmp_path: Path) -> None:
    fresh_worker(service).sync_sources()
    ingest(service, tmp_path, 1)
    w = fresh_worker(service)
    row = direct_row(service, 1)
    fn = w._function(row)
    raw, tx_hash = service.client.tx.sign(fn, service.account)
    with service.db.session() as s:  # what the worker persists just before broadcasting ... then dies
        outbox.set_state(s, row.id, "signed", raw_tx=raw, tx_hash=tx_hash)
    fresh_worker(service).step()
    row = direct_row(service, 1)
    assert row.state in ("mined", "confirmed")
    assert bytes(row.tx_hash or b"") == tx_hash  # the very transaction signed before the crash
    assert events(service) == [1]


def test_crash_after_sending_before_recording(service: Service, tmp_path: Path) -> None:
    fresh_worker(service).sync_sources()
    ingest(service, tmp_path, 1)
    w = fresh_worker(service)
    row = direct_row(service, 1)
    raw, tx_hash = service.client.tx.sign(w._function(row), service.account)
    with service.db.session() as s:
        outbox.set_state(s, row.id, "signed", raw_tx=raw, tx_hash=tx_hash)
    service.client.tx.broadcast(raw)  # it went out; the process died before noting it
    fresh_worker(service).step()
    assert direct_row(service, 1).state in ("mined", "confirmed")
    assert events(service) == [1]


def test_lost_update_is_found_on_chain_not_anchored_again(service: Service, tmp_path: Path) -> None:
    fresh_worker(service).sync_sources()
    ingest(service, tmp_path, 1)
    from provenance.manifest import SignedManifest

    info = service.ledger.snapshot("tm/direct", 1)
    import json

    result = service.client.anchor_snapshot(
        SignedManifest.from_json(json.loads(info.signed_manifest)), service.account
    )  # landed, but the outbox row still says queued
    assert direct_row(service, 1).state == "queued"
    fresh_worker(service).step()
    row = direct_row(service, 1)
    assert row.state in ("mined", "confirmed")
    assert bytes(row.tx_hash or b"") == result.tx_hash
    assert events(service) == [1]


def test_checkpoints_cover_everything_once(service: Service, tmp_path: Path) -> None:
    service.ledger.create_dataset("tm/cp", Schema(("k",)), signing_key="dev-source")
    w = fresh_worker(service)
    w.sync_sources()
    for v in range(1, 4):
        p = tmp_path / f"cp{v}.csv"
        p.write_text(f"k\nx{v}\n")
        service.ledger.ingest("tm/cp", p)
        w.step()
        w.step()
    for v in range(1, 4):
        assert service.ledger.proof("tm/cp", v, [f"x{v}"])["anchor"]["state"] in ("mined", "confirmed")
    sizes = [
        e["args"]["size"]
        for e in service.client.find_events("CheckpointAnchored", service.deployment.deploy_block)
    ]
    assert sizes == sorted(set(sizes))
    with service.db.session() as s:
        states = set(s.scalars(select(Anchor.state)))
    assert states <= {"mined", "confirmed", "superseded"}
    assert w.stats.errors == 0, w.stats.last_error
