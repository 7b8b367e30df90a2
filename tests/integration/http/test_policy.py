"""#12 item 4, through the service and the CLI: a dataset's verification policy is published as
a signed, anchored snapshot of ``ledger/policy/<name>``, and ``provenance verify --policy``
checks that snapshot before it grades a datum by it, reporting the levels met."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.integration.http.conftest import ADMIN, EXE, Server, proof_when_anchored

pytestmark = [pytest.mark.http, pytest.mark.chain]

NAME = "tm/policy/prices"
OTHER = "tm/policy/other"


def policy(name: str, signer: str) -> dict[str, Any]:
    return {
        "format": "provenance-policy/v1",
        "dataset": name,
        "levels": [
            {"name": "published", "signers": [signer]},
            {"name": "anchored", "anchorMode": "checkpoint", "minConfirmations": 1, "maxAnchorDelay": 3600},
            {"name": "final", "minConfirmations": 1000},
        ],
    }


@pytest.fixture(scope="module")
def server(shared_anvil_server: Server) -> Server:
    s = shared_anvil_server
    for name in (NAME, OTHER):
        spec = {"name": name, "key": ["k"], "signingKey": "dev-source"}
        assert s.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
        up = s.post(f"/v1/datasets/{name}/versions?format=csv", headers=ADMIN, content=b"k,v\na,1\nb,2\n")
        assert up.status_code == 201, up.text
    signer = proof_when_anchored(s, NAME, 1, "a")["bundle"]["manifest"]["signer"]
    for name in (NAME, OTHER):
        r = s.put(f"/v1/datasets/{name}/policy", headers=ADMIN, json=policy(name, signer))
        assert r.status_code == 201, r.text
        assert r.json()["dataset"] == f"ledger/policy/{name}"
    return s


def verify(server: Server, tmp_path: Any, *args: str) -> tuple[int, dict[str, Any]]:
    bundle = tmp_path / "datum.json"
    bundle.write_text(json.dumps(proof_when_anchored(server, NAME, 1, "a")["bundle"]))
    rpc = f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"
    cmd = [str(EXE), "verify", str(bundle), "--json", "--rpc-url", rpc, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr}


def test_the_policy_is_served_with_its_proof(server: Server) -> None:
    latest = server.wait_for(
        f"/v1/datasets/{NAME}/policy", lambda b: b["anchor"]["state"] in ("mined", "confirmed")
    )
    assert latest["policy"]["dataset"] == NAME and latest["version"] == 1
    assert latest["bundle"]["record"]["dataset"] == f"ledger/policy/{NAME}"
    assert server.post("/v1/verify", json=latest["bundle"]).json()["status"] == "valid"
    missing = server.get("/v1/datasets/tm/policy/none/policy")
    assert (missing.status_code, missing.json()["code"]) == (404, "policy.none")
    wrong = server.put(f"/v1/datasets/{NAME}/policy", headers=ADMIN, json=policy(OTHER, "0x" + "11" * 20))
    assert (wrong.status_code, wrong.json()["code"]) == (422, "policy.wrong-dataset")
    bad = server.put(f"/v1/datasets/{NAME}/policy", headers=ADMIN, json={"format": "provenance-policy/v1"})
    assert (bad.status_code, bad.json()["code"]) == (422, "policy.malformed")
    assert server.put(f"/v1/datasets/{NAME}/policy", json=policy(NAME, "0x" + "11" * 20)).status_code == 401


def test_verify_grades_a_datum_by_its_published_policy(server: Server, tmp_path: Any) -> None:
    url = server.url + f"/v1/datasets/{NAME}/policy"
    server.wait_for(f"/v1/datasets/{NAME}/policy", lambda b: b["anchor"]["state"] in ("mined", "confirmed"))
    code, out = verify(server, tmp_path, "--policy", url)
    assert code == 0, out
    graded = out["policy"]
    assert graded["met"] == "anchored"
    assert [lv["met"] for lv in graded["levels"]] == [True, True, False]
    assert "of 1000 confirmations" in graded["levels"][2]["unmet"][0]
    code, out = verify(server, tmp_path, "--policy", url, "--level", "final")
    assert code == 1 and out["status"] == "valid"  # valid data, short of the level asked for
    code, out = verify(server, tmp_path, "--policy", url, "--level", "nope")
    assert code == 2


def test_a_policy_of_another_dataset_is_refused(server: Server, tmp_path: Any) -> None:
    server.wait_for(f"/v1/datasets/{OTHER}/policy", lambda b: b["anchor"]["state"] in ("mined", "confirmed"))
    other = tmp_path / "other-policy.json"
    other.write_text(json.dumps(server.get(f"/v1/datasets/{OTHER}/policy").json()["bundle"]))
    code, out = verify(server, tmp_path, "--policy", str(other))
    assert code == 1 and "policy.wrong-dataset" in out["stderr"], out


def test_the_gate_applies_the_policy(server: Server, tmp_path: Any) -> None:
    url = server.url + f"/v1/datasets/{NAME}/policy"
    server.wait_for(f"/v1/datasets/{NAME}/policy", lambda b: b["anchor"]["state"] in ("mined", "confirmed"))
    data = tmp_path / "prices.csv"
    data.write_text("k,v\na,1\nb,2\n")
    rpc = f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"
    base = [
        str(EXE),
        "check",
        str(data),
        "--dataset",
        NAME,
        "--api",
        server.url,
        "--rpc-url",
        rpc,
        "--format",
        "json",
    ]
    done = subprocess.run([*base, "--policy", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    graded = next(c for c in json.loads(done.stdout)["checks"] if c["check"] == "policy")
    assert graded["status"] == "valid" and graded["detail"].startswith("met anchored"), graded
    done = subprocess.run(
        [*base, "--policy", url, "--level", "final"], capture_output=True, text=True, timeout=120
    )
    report = json.loads(done.stdout)
    graded = next(c for c in report["checks"] if c["check"] == "policy")
    assert (done.returncode, report["status"], graded["reason"]) == (1, "failed", "policy.level-unmet"), (
        graded
    )
