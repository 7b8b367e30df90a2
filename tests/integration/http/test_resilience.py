"""Restarts, an RPC outage and kill -9 at random moments: nothing partial, nothing lost or doubled."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from provenance.chain.backends import ANVIL_DEV_KEYS, AnvilNode, free_port, rpc_web3
from provenance.chain.deploy import deploy, save_deployment
from provenance.chain.registry import RegistryClient
from provenance.datasets import dataset_id
from provenance.server.store.record_blocks import BLOCK
from tests.integration.http.conftest import ADMIN, Server, base_env, proof_when_anchored

pytestmark = [pytest.mark.chain, pytest.mark.http]
EXE = Path(sys.executable).parent / "provenance"


def test_restart_keeps_data_chain_and_anchors(tmp_path: Path) -> None:
    env = base_env("anvil")
    first = Server(tmp_path / "data", env).start()
    try:
        bundle = proof_when_anchored(first, "examples/token-ratings", 1, "ETH,2026-11-27")["bundle"]
    finally:
        first.stop()
    second = Server(tmp_path / "data", env, port=first.port).start()
    try:
        assert "deployed" not in (second.log.read_text() if second.log else "")  # reused, not redeployed
        assert second.post("/v1/verify", content=json.dumps(bundle)).json()["status"] == "valid"
        path = tmp_path / "b.json"
        path.write_text(json.dumps(bundle))
        cli = subprocess.run(
            [str(EXE), "verify", "--rpc-url", f"http://127.0.0.1:{env['PROVENANCE_ANVIL_PORT']}", str(path)],
            capture_output=True,
            text=True,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr  # an independent verifier, straight to the chain
        r = second.post(
            "/v1/datasets", headers=ADMIN, json={"name": "tm/after", "key": ["k"], "signingKey": "dev-source"}
        )
        assert r.status_code == 201
        assert (
            second.post(
                "/v1/datasets/tm/after/versions?format=csv", headers=ADMIN, content="k,v\na,1\n"
            ).status_code
            == 201
        )
        proof_when_anchored(second, "tm/after", 1, "a")
    finally:
        second.stop()


def test_rpc_outage_ingest_continues_and_anchoring_catches_up(tmp_path: Path) -> None:
    node = AnvilNode(state_file=tmp_path / "chain" / "state.json", port=free_port())
    node.start()
    from eth_account import Account

    deployer = Account.from_key(ANVIL_DEV_KEYS[0])
    _, deployment = deploy(rpc_web3(node.url), deployer)
    save_deployment(tmp_path / "deployments", deployment)
    env = {
        **base_env("rpc"),
        "PROVENANCE_RPC_URL": node.url,
        "PROVENANCE_CHAIN_PRIVATE_KEY": ANVIL_DEV_KEYS[0],
        "PROVENANCE_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
    }
    server = Server(tmp_path / "data", env).start()
    try:
        proof_when_anchored(server, "examples/token-ratings", 1, "BTC,2026-11-27")
        server.post(
            "/v1/datasets",
            headers=ADMIN,
            json={"name": "tm/outage", "key": ["k"], "signingKey": "dev-source"},
        )
        node.stop()  # the chain goes away
        r = server.post(
            "/v1/datasets/tm/outage/versions?format=csv", headers=ADMIN, content="k,v\na,1\nb,2\n"
        )
        assert r.status_code == 201, r.text  # ingest does not need the chain
        time.sleep(1.5)
        body = server.get("/v1/datasets/tm/outage/versions/1/proof?key=b").json()
        assert body["anchor"]["state"] == "pending"
        assert body["bundle"]["anchor"] is None
        ready = server.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["chain"].startswith("unreachable")
        assert server.get("/readyz?chain=optional").status_code == 200  # proofs are still served
        node.start()  # same port, same state: the chain comes back
        body = proof_when_anchored(server, "tm/outage", 1, "b")
        assert server.post("/v1/verify", content=json.dumps(body["bundle"])).json()["status"] == "valid"
    finally:
        server.stop()
        node.stop()


def test_a_managed_anvil_that_dies_is_reaped_and_started_again(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", base_env("anvil")).start()
    try:
        proof_when_anchored(server, "examples/token-ratings", 1, "BTC,2026-11-27")
        first = anvil_pid(server)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and anvil_pid(server) in (None, first):
            time.sleep(0.2)
        second = anvil_pid(server)
        assert second not in (None, first), "the node was not started again"
        assert not Path(f"/proc/{first}").exists(), "the dead node was left a zombie"
        server.wait_for("/readyz", lambda b: b["ready"], timeout=20)
        spec = {"name": "tm/revived", "key": ["k"], "signingKey": "dev-source"}
        server.post("/v1/datasets", headers=ADMIN, json=spec)
        r = server.post("/v1/datasets/tm/revived/versions?format=csv", headers=ADMIN, content="k,v\na,1\n")
        assert r.status_code == 201, r.text
        body = proof_when_anchored(server, "tm/revived", 1, "a")  # anchored on the restarted node
        verdict = server.post("/v1/verify", content=json.dumps(body["bundle"])).json()
        assert verdict["status"] == "valid", [c for c in verdict["checks"] if c["status"] != "valid"]
        assert "started again" in (server.log.read_text() if server.log else "")
    finally:
        server.stop()


def anvil_pid(server: Server) -> int | None:
    """The anvil process the service runs (a child of it), if any is running."""
    assert server.process is not None
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == server.process.pid and b"anvil" in cmdline.split(b"\0")[0] and fields[0] != "Z":
            return int(entry.name)
    return None


CRASH_RECORDS = text(
    "SELECT count(*) FROM record_blocks r JOIN snapshots s ON s.id = r.snapshot_pk "
    "JOIN datasets d ON d.id = s.dataset_pk WHERE d.name = 'tm/crash'"
)


def big_csv(rows: int) -> bytes:
    return ("k,v,w\n" + "".join(f"key-{i},{i * 7},{'x' * 20}\n" for i in range(rows))).encode()


def test_kill9_during_ingest_leaves_no_partial_snapshot(tmp_path: Path) -> None:
    env = base_env("anvil")
    server = Server(tmp_path / "data", env).start()
    server.post(
        "/v1/datasets", headers=ADMIN, json={"name": "tm/crash", "key": ["k"], "signingKey": "dev-source"}
    )
    data = big_csv(600_000)
    done = threading.Event()

    def upload() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under us: that is the point
            server.post("/v1/datasets/tm/crash/versions?format=csv", headers=ADMIN, content=data)
        done.set()

    threading.Thread(target=upload, daemon=True).start()
    db = create_engine(f"sqlite:///{tmp_path / 'data' / 'ledger.sqlite3'}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until records are being written, then crash
        with db.connect() as c:
            if c.execute(CRASH_RECORDS).scalar():
                break
        time.sleep(0.05)
    server.kill()
    done.wait(30)
    with db.connect() as c:
        building = c.execute(text("SELECT count(*) FROM snapshots WHERE state = 'building'")).scalar()
    assert building == 1  # the crash left a half-written snapshot behind ...
    uploads = tmp_path / "data" / "uploads"
    assert any(uploads.iterdir())  # ... and its upload's temp file (#11 defect 11)
    restarted = Server(tmp_path / "data", env, port=server.port).start()
    try:
        assert restarted.get("/v1/datasets/tm/crash/versions").json() == []  # ... which nobody ever sees
        assert restarted.get("/v1/datasets/tm/crash/versions/1").status_code == 404
        time.sleep(2.5)  # PROVENANCE_STALE_BUILD_SECONDS=2: the leftover is stale now
        r = restarted.post("/v1/datasets/tm/crash/versions?format=csv", headers=ADMIN, content=big_csv(1000))
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 1
        assert list(uploads.iterdir()) == []  # the stale upload went with the stale snapshot
        with db.connect() as c:
            assert c.execute(text("SELECT count(*) FROM snapshots WHERE state = 'building'")).scalar() == 0
            assert c.execute(CRASH_RECORDS).scalar() == -(-1000 // BLOCK)  # 1,000 records, BLOCK a row
        proof_when_anchored(restarted, "tm/crash", 1, "key-999")
    finally:
        restarted.stop()
    db.dispose()


def test_kill9_during_anchoring_loses_and_doubles_nothing(tmp_path: Path) -> None:
    env = {**base_env("anvil"), "PROVENANCE_CHECKPOINT_INTERVAL": "0.05", "PROVENANCE_WORKER_POLL": "0.02"}
    rng = random.Random(5)
    versions = 5
    port = free_port()
    for v in range(1, versions + 1):
        server = Server(tmp_path / "data", env, port=port).start()
        if v == 1:
            for name, mode in (("tm/direct-crash", "direct"), ("tm/cp-crash", "checkpoint")):
                server.post(
                    "/v1/datasets",
                    headers=ADMIN,
                    json={"name": name, "key": ["k"], "anchorMode": mode, "signingKey": "dev-source"},
                )
        for name in ("tm/direct-crash", "tm/cp-crash"):
            r = server.post(
                f"/v1/datasets/{name}/versions?format=csv", headers=ADMIN, content=f"k,v\na,{v}\n"
            )
            assert r.status_code == 201, r.text
        time.sleep(rng.uniform(0.0, 0.4))  # the worker is somewhere in sign → send → mine → confirm
        server.kill()
    final = Server(tmp_path / "data", env, port=port).start()
    try:
        for v in range(1, versions + 1):
            proof_when_anchored(final, "tm/direct-crash", v, "a")
            proof_when_anchored(final, "tm/cp-crash", v, "a")
        deployment = final.get("/v1/deployment").json()
        w3 = rpc_web3(f"http://127.0.0.1:{env['PROVENANCE_ANVIL_PORT']}")
        client = RegistryClient(w3, deployment["address"])
        events = client.find_events("SnapshotAnchored", deployment["deployBlock"])
        mine = [e for e in events if bytes(e["args"]["datasetId"]) == dataset_id("tm/direct-crash")]
        assert sorted(e["args"]["version"] for e in mine) == list(
            range(1, versions + 1)
        )  # none lost, none twice
        anchors = final.get("/v1/anchors?limit=1000").json()
        direct_tx = {
            a["txHash"] for a in anchors if a["kind"] == "direct" and a["state"] in ("mined", "confirmed")
        }
        assert {"0x" + bytes(e["transactionHash"]).hex() for e in mine} <= direct_tx
        sizes = [
            e["args"]["size"] for e in client.find_events("CheckpointAnchored", deployment["deployBlock"])
        ]
        assert sizes == sorted(set(sizes))  # strictly growing: no checkpoint anchored twice
        log_size = json.loads(final.get("/v1/checkpoints/latest").text)["size"]
        assert max(sizes) <= log_size
    finally:
        final.stop()
