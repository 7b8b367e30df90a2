"""#12 item 3: a source's track record moves as its history does — two versions published and
anchored, one late against the cadence its policy declares, one retracted, one disputed by a
stranger on-chain — and its published count is what anyone counts from the public listing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account

from provenance.chain.backends import ANVIL_DEV_KEYS, rpc_web3
from provenance.chain.registry import RegistryClient
from provenance.chain.transactions import Transactor
from provenance.datasets import dataset_id
from tests.integration.http.conftest import ADMIN, Server, proof_when_anchored

pytestmark = [pytest.mark.http, pytest.mark.chain]

NAME = "tm/track/prices"


def record(server: Server, signer: str) -> dict[str, Any]:
    r = server.get(f"/v1/sources/{signer}/record")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def published_by(server: Server, signer: str) -> int:
    """What anyone counts from the public listing: versions whose manifest the source signed."""
    names = [d["name"] for d in server.get("/v1/datasets").json()]
    return sum(
        1
        for name in names
        if not name.startswith("ledger/policy/")
        for v in server.get(f"/v1/datasets/{name}/versions").json()
        if v["signer"] == signer
    )


def test_the_track_record_follows_the_sources_history(shared_anvil_server: Server) -> None:
    server = shared_anvil_server
    signer = proof_when_anchored(server, "examples/token-ratings", 1, "ETH,2026-11-27")["bundle"]["manifest"][
        "signer"
    ]
    before = record(server, signer)
    spec = {"name": NAME, "key": ["k"], "anchorMode": "direct", "signingKey": "dev-source"}
    assert server.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
    policy = {"format": "provenance-policy/v1", "dataset": NAME, "levels": [{"name": "any"}], "cadence": 1}
    assert server.put(f"/v1/datasets/{NAME}/policy", headers=ADMIN, json=policy).status_code == 201
    for v in (1, 2):
        up = server.post(
            f"/v1/datasets/{NAME}/versions?format=csv", headers=ADMIN, content=f"k,v\na,{v}\n".encode()
        )
        assert up.status_code == 201, up.text
        time.sleep(2.1 if v == 1 else 0)  # v2 comes more than the declared cadence after v1
    bundles = [proof_when_anchored(server, NAME, v, "a")["bundle"] for v in (1, 2)]
    r = server.post(
        f"/v1/datasets/{NAME}/versions/1/retraction", headers=ADMIN, json={"reason": "stale feed"}
    )
    assert r.status_code == 201, r.text
    server.wait_for(
        f"/v1/datasets/{NAME}/versions/1/retraction", lambda b: b["state"] in ("mined", "confirmed")
    )
    dispute(server, bundles[1])
    after = record(server, signer)
    assert after["source"] == signer and after["status"] == "active"
    assert after["published"] - before["published"] == 2
    assert after["published"] == published_by(server, signer)
    assert after["anchored"] - before["anchored"] == 2
    assert (after["retractions"] - before["retractions"], after["disputes"] - before["disputes"]) == (1, 1)
    assert after["late"]["late"] - before["late"]["late"] == 1
    assert after["late"]["checked"] - before["late"]["checked"] == 1
    assert after["keyRotations"] == before["keyRotations"]
    assert after["anchorDelay"]["measured"] == after["anchored"]
    assert 0 <= after["anchorDelay"]["median"] <= after["anchorDelay"]["max"]
    bad = server.get("/v1/sources/0x1234/record")
    assert (bad.status_code, bad.json()["code"]) == (422, "input.bad-address")


def dispute(server: Server, bundle: dict[str, Any]) -> None:
    """A stranger's dispute, sent with their own key straight to the registry."""
    w3 = rpc_web3(f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}")
    stranger = Account.create()
    Transactor(w3).transfer(Account.from_key(ANVIL_DEV_KEYS[2]), stranger.address, 10**18)
    m = bundle["manifest"]["manifest"]
    client = RegistryClient(w3, server.get("/v1/deployment").json()["address"])
    root = bytes.fromhex(m["root"][2:])
    client.dispute(
        dataset_id(m["dataset"]), m["version"], root, b"\x01" * 32, "https://example.org/e", stranger
    )
    assert client.dispute_count(dataset_id(m["dataset"]), m["version"], root) == 1
