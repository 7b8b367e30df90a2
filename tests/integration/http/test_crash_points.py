"""#11 faults: kill -9 at every named step of ingest and anchoring, one after another.

For each point of :data:`provenance.crash_points.POINTS` the running service has that point armed
(through its crash-point file), is given one new version of a directly anchored and of a
checkpointed dataset, and dies there (SIGKILL, by its own hand). It is then started again, and the
client does what a client does after a dropped connection: it sends the same upload, for the same
version, again; the same process is then armed for the next point. Afterwards:

- a version committed before the crash is served unchanged, and one that was not is absent
  (never half there) until the retried upload creates it;
- every version gets anchored, each direct one exactly once on the chain, and no checkpoint twice;
- ``provenance fsck`` against the chain finds nothing wrong.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from provenance.chain.backends import ANVIL_DEV_KEYS, AnvilNode, free_port, rpc_web3
from provenance.chain.deploy import deploy, save_deployment
from provenance.chain.registry import RegistryClient
from provenance.crash_points import POINTS
from provenance.datasets import dataset_id
from tests.integration.http.conftest import ADMIN, Server, base_env, fsck_report, proof_when_anchored

pytestmark = [pytest.mark.chain, pytest.mark.http, pytest.mark.slow]
DATASETS = {"tm/crash-direct": "direct", "tm/crash-logged": "checkpoint"}
COMMITTED_AT = POINTS.index("ingest.completed")


def csv(version: int) -> bytes:
    return ("k,v\n" + "".join(f"r{i},{version * 1000 + i}\n" for i in range(50))).encode()


def upload_until_accepted(server: Server, name: str, version: int) -> int:
    """The client's retry: the same bytes again until the ledger takes them (409 + Retry-After
    while a killed build is still in the way)."""
    deadline = time.monotonic() + 60
    while True:
        r = server.post(
            f"/v1/datasets/{name}/versions?format=csv&version={version}", headers=ADMIN, content=csv(version)
        )
        if r.status_code in (200, 201):
            assert r.json()["version"] == version, r.text
            return r.status_code
        assert r.status_code == 409 and "Retry-After" in r.headers, r.text
        assert time.monotonic() < deadline, r.text
        time.sleep(float(r.headers["Retry-After"]))


def die_at(server: Server, arm: Path, point: str, version: int) -> None:
    """Arm ``point`` in the running service and send it the next version of both datasets: it
    kills itself there (SIGKILL, by its own hand)."""
    assert server.process is not None
    arm.write_text(point)
    for name in DATASETS:
        with contextlib.suppress(httpx.HTTPError):  # dying under the request is the point
            server.post(
                f"/v1/datasets/{name}/versions?format=csv&version={version}",
                headers=ADMIN,
                content=csv(version),
            )
        if server.process.poll() is not None:
            break
    try:
        assert server.process.wait(60) == -signal.SIGKILL, f"{point} was never reached"
    finally:
        server.kill()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A node that outlives the ledger's crashes, as a real chain does (the managed anvil dies
    with the ledger, and its periodic state dump can keep a block's storage without the block:
    the registry then holds an anchor no transaction in the chain's history made)."""
    node = AnvilNode(port=free_port())
    node.start()
    deployment = deploy(rpc_web3(node.url), Account.from_key(ANVIL_DEV_KEYS[0]))[1]
    save_deployment(tmp_path / "deployments", deployment)
    yield node.url, tmp_path / "deployments"
    node.stop()


def test_kill9_at_every_crash_point(tmp_path: Path, chain: tuple[str, Path]) -> None:
    rpc, deployments = chain
    env = {
        **base_env("rpc"),
        "PROVENANCE_RPC_URL": rpc,
        "PROVENANCE_CHAIN_PRIVATE_KEY": ANVIL_DEV_KEYS[0],
        "PROVENANCE_DEPLOYMENTS_DIR": str(deployments),
        "PROVENANCE_CHECKPOINT_INTERVAL": "0.05",
        "PROVENANCE_WORKER_POLL": "0.02",
    }
    data, port, arm = tmp_path / "data", free_port(), tmp_path / "crash-point"
    env["PROVENANCE_CRASH_POINT_FILE"] = str(arm)
    server = Server(data, env, port=port).start()
    for name, mode in DATASETS.items():
        spec = {"name": name, "key": ["k"], "anchorMode": mode, "signingKey": "dev-source"}
        assert server.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
    proof_when_anchored(server, "examples/token-ratings", 1, "ETH,2026-11-27")  # nothing left to anchor
    roots: dict[tuple[str, int], str] = {}
    try:
        for version, point in enumerate(POINTS, start=1):
            die_at(server, arm, point, version)
            server = Server(data, env, port=port).start()
            recover(server, point, version, roots)
        assert_anchored_once(server, rpc, len(POINTS))
        report = fsck_report(server, "--rpc-url", rpc)
        assert report["clean"] and report["checked"]["chain"], report
        assert report["checked"]["anchors"] >= len(POINTS), report
    finally:
        server.stop()


def recover(server: Server, point: str, version: int, roots: dict[tuple[str, int], str]) -> None:
    """What a client does after a dropped connection: the same upload again; then everything
    must be anchored, and nothing committed earlier changed."""
    for name in DATASETS:
        before = server.get(f"/v1/datasets/{name}/versions/{version}")
        if POINTS.index(point) >= COMMITTED_AT and name == next(iter(DATASETS)):
            assert before.status_code == 200, (point, before.text)  # committed: kept
        if before.status_code != 200:
            assert before.status_code == 404, (point, before.text)  # never half there
            assert upload_until_accepted(server, name, version) == 201
        else:
            assert upload_until_accepted(server, name, version) == 200  # the same bytes: a no-op
        bundle = proof_when_anchored(server, name, version, "r7")["bundle"]
        roots[(name, version)] = bundle["manifest"]["manifest"]["root"]
    for (name, v), root in roots.items():  # nothing committed earlier has changed
        assert server.get(f"/v1/datasets/{name}/versions/{v}").json()["root"] == root, (point, name, v)


def assert_anchored_once(server: Server, rpc: str, versions: int) -> None:
    deployment = server.get("/v1/deployment").json()
    client = RegistryClient(rpc_web3(rpc), deployment["address"])
    events = client.find_events("SnapshotAnchored", deployment["deployBlock"])
    direct = [e for e in events if bytes(e["args"]["datasetId"]) == dataset_id("tm/crash-direct")]
    assert sorted(e["args"]["version"] for e in direct) == list(
        range(1, versions + 1)
    )  # none lost, none twice
    sizes = [e["args"]["size"] for e in client.find_events("CheckpointAnchored", deployment["deployBlock"])]
    assert sizes == sorted(set(sizes))  # strictly growing: no checkpoint anchored twice
