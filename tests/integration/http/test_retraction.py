"""#12: retracting a snapshot in either anchoring mode, over HTTP, relayed to the chain.

The bar: a retracted checkpoint-mode snapshot's bundle is ``retracted`` (exit 1) in the CLI and
over HTTP (the console and `check` read the same registry views; tests/web and test_check).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from provenance.manifest import Domain
from provenance.retraction import Retraction, sign_retraction
from tests.integration.http.conftest import ADMIN, EXE, Server, proof_when_anchored

pytestmark = [pytest.mark.chain, pytest.mark.http]
REASON = "the 2026-12-04 prices came from a stale feed"


@pytest.fixture(scope="module")
def server(shared_anvil_server: Server) -> Any:
    s = shared_anvil_server
    for name, mode in (("tm/retract/logged", "checkpoint"), ("tm/retract/direct", "direct")):
        spec = {"name": name, "key": ["k"], "anchorMode": mode, "signingKey": "dev-source"}
        assert s.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
        for v in (1, 2):
            r = s.post(
                f"/v1/datasets/{name}/versions?format=csv",
                headers=ADMIN,
                content=f"k,v\na,{v}\nb,{v}\n".encode(),
            )
            assert r.status_code == 201, r.text
    return s


def retracted_when_mined(server: Server, name: str, version: int) -> dict[str, Any]:
    return server.wait_for(
        f"/v1/datasets/{name}/versions/{version}/retraction", lambda b: b["state"] in ("mined", "confirmed")
    )


def cli_verify(server: Server, doc: dict[str, Any], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    rpc = f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"
    done = subprocess.run(
        [str(EXE), "verify", str(path), "--rpc-url", rpc, "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("name", ["tm/retract/logged", "tm/retract/direct"])
def test_a_retracted_snapshot_verifies_as_retracted(server: Server, name: str, tmp_path: Path) -> None:
    doc = proof_when_anchored(server, name, 1, "a")["bundle"]
    assert cli_verify(server, doc, tmp_path)[0] == 0
    r = server.post(f"/v1/datasets/{name}/versions/1/retraction", headers=ADMIN, json={"reason": REASON})
    assert r.status_code == 201, r.text
    assert (r.json()["reason"], r.json()["state"]) == (REASON, "queued")
    done = retracted_when_mined(server, name, 1)
    assert done["reasonHash"] == "0x" + __import__("hashlib").sha256(REASON.encode()).hexdigest()
    code, verdict = cli_verify(server, doc, tmp_path)
    assert (code, verdict["status"]) == (1, "retracted"), verdict
    anchor = next(c for c in verdict["checks"] if c["check"] == "anchor")
    assert anchor["reason"] == "anchor.retracted"
    over_http = server.post("/v1/verify", content=json.dumps(doc).encode()).json()
    assert over_http["status"] == "retracted", over_http
    # version 2 is not retracted: the retraction names one snapshot
    assert cli_verify(server, proof_when_anchored(server, name, 2, "a")["bundle"], tmp_path)[0] == 0
    again = server.post(f"/v1/datasets/{name}/versions/1/retraction", headers=ADMIN, json={"reason": REASON})
    assert (again.status_code, again.json()["code"]) == (409, "retraction.exists")


def test_a_retracted_parent_is_refused(server: Server) -> None:
    up = server.post(
        "/v1/datasets/tm/retract/logged/versions?format=csv&version=3", headers=ADMIN, content=b"k,v\na,3\n"
    )
    assert up.status_code == 201, up.text
    proof_when_anchored(server, "tm/retract/logged", 3, "a")  # retractLogged needs it checkpointed
    r = server.post(
        "/v1/datasets/tm/retract/logged/versions/3/retraction", headers=ADMIN, json={"reason": REASON}
    )
    assert r.status_code == 201, r.text
    retracted_when_mined(server, "tm/retract/logged", 3)
    spec = {"name": "tm/retract/child", "key": ["k"], "signingKey": "dev-source"}
    assert server.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
    r = server.post(
        "/v1/datasets/tm/retract/child/versions?format=csv&parents=tm/retract/logged@3",
        headers=ADMIN,
        content=b"k,v\na,1\n",
    )
    assert (r.status_code, r.json()["code"]) == (422, "lineage.retracted-parent"), r.text


def test_retraction_refusals(server: Server) -> None:
    url = "/v1/datasets/tm/retract/logged/versions/2/retraction"
    assert server.post(url, json={"reason": REASON}).status_code == 401  # server-signed: admin only
    assert server.get(url).json()["code"] == "retraction.not-found"
    assert (
        server.post(
            "/v1/datasets/tm/retract/logged/versions/9/retraction", headers=ADMIN, json={"reason": REASON}
        ).status_code
        == 404
    )
    deployment = server.get("/v1/deployment").json()
    domain = Domain(deployment["chainId"], deployment["address"])
    root = bytes.fromhex(server.get("/v1/datasets/tm/retract/logged/versions/2").json()["root"][2:])
    stranger = Account.create()
    signed = sign_retraction(Retraction("tm/retract/logged", 2, root, REASON), domain, stranger.key)
    r = server.post(url, json={"signedRetraction": signed.to_json()})  # no token: the signature speaks
    assert (r.status_code, r.json()["code"]) == (422, "retraction.wrong-signer"), r.text
    other = sign_retraction(Retraction("tm/retract/logged", 2, b"\x01" * 32, REASON), domain, stranger.key)
    r = server.post(url, json={"signedRetraction": other.to_json()})
    assert (r.status_code, r.json()["code"]) == (422, "retraction.mismatch"), r.text
    r = server.post(url, headers=ADMIN, json={"reason": ""})
    assert r.status_code == 422


def test_the_cli_retracts_with_the_source_key_signing_here(server: Server) -> None:
    """`provenance retract --key`: the source signs on its own machine; the ledger relays."""
    key = server.data_dir / "keys" / "dev-source.json"
    env = {**os.environ, "PROVENANCE_KEY_PASSWORD": server.env["PROVENANCE_KEY_PASSWORD"]}
    command = [str(EXE), "retract", "tm/retract/direct", "2", "--reason", REASON, "--api", server.url]
    done = subprocess.run(
        [*command, "--key", str(key), "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    source = server.get("/v1/datasets/tm/retract/direct/versions/2").json()["signer"]
    assert (answer["signer"], answer["state"], answer["reason"]) == (source, "queued", REASON)
    retracted_when_mined(server, "tm/retract/direct", 2)
    token_env = {**env, "PROVENANCE_ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer ")}
    again = subprocess.run(command, env=token_env, capture_output=True, text=True, check=False)
    assert again.returncode != 0 and "retraction.exists" in again.stdout + again.stderr, again
    assert "Traceback" not in again.stderr


def test_anyone_may_dispute_and_verifiers_warn(server: Server, tmp_path: Path) -> None:
    """A stranger disputes a version with their own key; the verdict stands, with a warning."""
    from provenance.chain.backends import ANVIL_DEV_KEYS, rpc_web3
    from provenance.chain.transactions import Transactor

    rpc = f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"
    stranger = Account.create()
    funder = Account.from_key(ANVIL_DEV_KEYS[2])  # not the ledger's own account: its nonces are its own
    Transactor(rpc_web3(rpc)).transfer(funder, stranger.address, 10**18)
    keystore = tmp_path / "disputer.json"
    keystore.write_text(json.dumps(Account.encrypt(stranger.key, "disputer-password")))
    done = subprocess.run(
        [
            str(EXE),
            "dispute",
            "tm/retract/logged",
            "2",
            "--reason",
            "the close is not the exchange's close",
            "--evidence-uri",
            "https://example.org/evidence/42",
            "--key",
            str(keystore),
            "--rpc-url",
            rpc,
            "--api",
            server.url,
        ],
        env={**os.environ, "PROVENANCE_KEY_PASSWORD": "disputer-password"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 dispute(s) on record" in done.stdout
    code, verdict = cli_verify(
        server, proof_when_anchored(server, "tm/retract/logged", 2, "a")["bundle"], tmp_path
    )
    assert (code, verdict["status"]) == (0, "valid"), verdict
    assert [(w["check"], w["status"], w["reason"]) for w in verdict["warnings"]] == [
        ("disputes", "warning", "anchor.disputed")
    ]
    listed = server.get("/v1/datasets/tm/retract/logged/versions/2/disputes").json()  # read from the chain
    assert [(d["by"], d["evidenceUri"]) for d in listed] == [
        (stranger.address, "https://example.org/evidence/42")
    ]
    assert (
        listed[0]["reasonHash"] == "0x" + hashlib.sha256(b"the close is not the exchange's close").hexdigest()
    )
    assert server.get("/v1/datasets/tm/retract/logged/versions/1/disputes").json() == []
    retractions = server.get("/v1/retractions").json()
    assert {(r["dataset"], r["version"]) for r in retractions} >= {
        ("tm/retract/logged", 1),
        ("tm/retract/direct", 1),
    }
