"""The anchoring worker against crashes at exact points (what a kill -9 cannot aim at)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from provenance.config import Settings
from provenance.records.schema import Schema
from provenance.server.bootstrap import Service, open_service
from provenance.server.store.models import AnchorRow
from provenance.server.worker import AnchorWorker, wait_until


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


def direct_row(svc: Service, version: int) -> AnchorRow:
    row = svc.ledger.direct_anchor_of(svc.ledger.snapshot("tm/direct", version))
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
    # what the worker persists just before broadcasting ... then dies
    service.ledger.set_anchor_state(row.id, "signed", raw_tx=raw, tx_hash=tx_hash)
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

    service.ledger.set_anchor_state(row.id, "signed", raw_tx=raw, tx_hash=tx_hash)
    service.client.tx.broadcast(raw)  # it went out; the process died before noting it
    fresh_worker(service).step()
    assert direct_row(service, 1).state in ("mined", "confirmed")
    assert events(service) == [1]


def test_sent_transaction_whose_nonce_went_elsewhere_is_signed_again_once(
    service: Service, tmp_path: Path
) -> None:
    fresh_worker(service).sync_sources()
    ingest(service, tmp_path, 1)
    w = fresh_worker(service)
    row = direct_row(service, 1)
    raw, tx_hash = service.client.tx.sign(w._function(row), service.account)
    # noted as sent, but it never reached the node ...
    service.ledger.set_anchor_state(row.id, "sent", raw_tx=raw, tx_hash=tx_hash)
    # ... and another transaction of the same account took its nonce.
    service.client.tx.transfer(service.account, "0x" + "11" * 20, 1)
    w.step()
    row = direct_row(service, 1)
    assert row.state == "queued" and row.tx_hash is None
    assert (row.last_error or "").startswith("nonce already used")
    w.step()
    row = direct_row(service, 1)
    assert row.state in ("mined", "confirmed")
    assert bytes(row.tx_hash or b"") != tx_hash
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


def test_registry_state_without_its_history_is_named_not_retried(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node restored from a state dump taken while a block was being mined (the managed anvil,
    killed -9 right after an anchor) can hold the registry's storage for an anchor but not the
    block with its transaction. The registry then has our root and the chain's history no
    transaction for it; re-sending only reverts (UnexpectedVersion), forever. That fault needs a
    lost block, which no node here loses on demand: the event search is made to find nothing."""
    fresh_worker(service).sync_sources()
    ingest(service, tmp_path, 1)
    import json

    from provenance.manifest import SignedManifest

    info = service.ledger.snapshot("tm/direct", 1)
    service.client.anchor_snapshot(
        SignedManifest.from_json(json.loads(info.signed_manifest)), service.account
    )
    monkeypatch.setattr(service.client, "find_event", lambda *a, **k: None)  # the block is gone
    worker = fresh_worker(service)
    worker.step()
    row = direct_row(service, 1)
    assert row.state == "queued" and row.tx_hash is None  # nothing was sent
    assert worker.stats.last_error is not None and worker.stats.last_error.startswith("chain.history-missing")
    assert "no transaction in the chain's history" in worker.stats.last_error
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

    def anchored(v: int) -> bool:
        return service.ledger.proof("tm/cp", v, [f"x{v}"])["anchor"]["state"] in ("mined", "confirmed")

    # Two fast steps can both fall inside the 10 ms checkpoint interval: step until the last
    # version is in an anchored checkpoint too (each step anchors at most what is due).
    assert wait_until(lambda: (w.step(), anchored(3))[1], timeout=10)
    logs = service.client.find_events("CheckpointAnchored", service.deployment.deploy_block)
    on_chain = {int(e["args"]["size"]): int(e["args"]["index"]) for e in logs}
    for v in range(1, 4):
        assert anchored(v)
        proof = service.ledger.proof("tm/cp", v, [f"x{v}"])
        # the bundle names the on-chain checkpoint index of its checkpoint's CheckpointAnchored log
        doc = proof["bundle"]
        assert doc["anchor"]["checkpointIndex"] == on_chain[doc["log"]["treeSize"]]
    sizes = [e["args"]["size"] for e in logs]
    assert sizes == sorted(set(sizes))
    with service.db.session() as s:
        states = set(s.scalars(select(AnchorRow.state)))
    assert states <= {"mined", "confirmed", "superseded"}
    assert w.stats.errors == 0, w.stats.last_error


@pytest.mark.chain
def test_reorg_dropping_an_anchor_is_detected_and_reanchored_once(tmp_path: Path) -> None:
    from eth_account import Account

    from provenance.chain.backends import ANVIL_DEV_KEYS, AnvilNode, rpc_web3
    from provenance.chain.deploy import deploy, save_deployment

    node = AnvilNode(state_file=tmp_path / "anvil.json")
    node.start()
    try:
        _, deployment = deploy(rpc_web3(node.url), Account.from_key(ANVIL_DEV_KEYS[0]))
        save_deployment(tmp_path / "deployments", deployment)
        settings = Settings(
            data_dir=tmp_path / "data",
            rpc_url=node.url,
            chain_private_key=ANVIL_DEV_KEYS[0],
            deployments_dir=tmp_path / "deployments",
            key_password="test-password-1",
            load_sample=False,
            confirmations=2,
        )
        svc = open_service(settings)
        try:
            svc.ledger.create_dataset(
                "tm/direct", Schema(("k",)), anchor_mode="direct", signing_key="dev-source"
            )
            w = AnchorWorker(
                svc.ledger, svc.client, svc.account, confirmations=2, deploy_block=svc.deployment.deploy_block
            )
            w.sync_sources()
            ingest(svc, tmp_path, 1)
            w3 = svc.client.w3
            fork = w3.provider.make_request("evm_snapshot", [])["result"]
            w.step()
            # anvil may mine a moment after answering the broadcast: the next passes see it
            assert wait_until(lambda: (w.step(), direct_row(svc, 1).state)[1] == "mined", timeout=10)
            first = direct_row(svc, 1)
            assert first.state == "mined"  # one confirmation of the two required
            assert w3.provider.make_request("evm_revert", [fork])["result"] is True
            w3.provider.make_request("anvil_mine", [2])  # the other branch grows past it
            w.step()  # notices the anchor is gone: back to queued ...
            assert w.stats.resubmitted == 1
            w.step()  # ... and anchors it again
            w3.provider.make_request("anvil_mine", [1])
            w.step()
            again = direct_row(svc, 1)
            assert again.state == "confirmed"
            assert again.tx_hash != first.tx_hash or again.block_hash != first.block_hash
            assert events(svc) == [1]  # once on the canonical chain
        finally:
            svc.close()
    finally:
        node.stop()


@pytest.mark.chain
@pytest.mark.slow
def test_hardhat_node_is_a_working_local_chain(tmp_path: Path) -> None:
    """`npx hardhat node` (Hardhat 2, offline) runs the same registry and our client unchanged."""
    import os
    import subprocess
    import time

    from eth_account import Account

    from provenance.chain.backends import ANVIL_DEV_KEYS, free_port, rpc_web3
    from provenance.chain.deploy import deploy
    from provenance.manifest import Domain
    from tests import factories as f

    root = Path(__file__).resolve().parents[3]
    port = free_port()
    cache = tmp_path / "xdg"
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache / "c"),
        "XDG_CONFIG_HOME": str(cache / "f"),
        "XDG_DATA_HOME": str(cache / "d"),
        "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
    }
    proc = subprocess.Popen(
        [
            str(root / "node_modules" / ".bin" / "hardhat"),
            "node",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        w3 = rpc_web3(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if w3.eth.chain_id == 31337:
                    break
            except Exception:
                time.sleep(0.2)
        owner = Account.from_key(ANVIL_DEV_KEYS[0])  # Hardhat's default accounts are the same mnemonic
        reg, _ = deploy(w3, owner)
        reg.register_source(Account.from_key(f.SOURCE_KEY).address, owner)
        snap = f.snapshot(domain=Domain(reg.chain_id, reg.address))
        result = reg.anchor_snapshot(snap.signed, owner)
        assert reg.snapshot_of(snap.manifest.dataset_id, 1) is not None
        assert result.gas_used < 110_000
    finally:
        proc.terminate()
        proc.wait(30)
