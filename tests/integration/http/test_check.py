"""``provenance check``, the CI gate, as a CI job runs it: the console script against a real
server and a real anvil node. Exit 0 match, 1 mismatch or failed check, 2 unusable input."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from provenance.integrity import CHECKS
from tests.integration.http.conftest import ADMIN, EXE, Server
from tests.vectors import VECTORS

pytestmark = [pytest.mark.http, pytest.mark.chain]

PRICES = "symbol,date,close\nBTC,2026-11-27,97000\nETH,2026-11-27,3610\nSOL,2026-11-27,240.5\n"
SPEC = {
    "name": "ci/prices",
    "key": ["symbol", "date"],
    "columns": {"close": "number"},
    "signingKey": "dev-source",
}


@pytest.fixture(scope="module")
def server(shared_anvil_server: Server) -> Server:
    s = shared_anvil_server
    assert s.post("/v1/datasets", json=SPEC, headers=ADMIN).status_code == 201
    up = s.post("/v1/datasets/ci/prices/versions?format=csv", content=PRICES.encode(), headers=ADMIN)
    assert up.status_code == 201, up.text
    s.wait_for("/v1/datasets/ci/prices/versions/1/snapshot-proof", lambda b: b["anchor"] is not None)
    return s


def rpc(server: Server) -> str:
    return f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"


def gate(server: Server, file: Path, *args: str, code: int, api: bool = True) -> str:
    cmd = [str(EXE), "check", str(file), "--dataset", "ci/prices", "--rpc-url", rpc(server)]
    if api and "--snapshot-proof" not in args:
        cmd += ["--api", server.url]
    done = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout + done.stderr


def data(tmp_path: Path, text: str = PRICES, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_published_file_matches(server: Server, tmp_path: Path) -> None:
    out = gate(server, data(tmp_path), "--latest", code=0)
    assert "result: match" in out
    report = json.loads(gate(server, data(tmp_path), "--version", "1", "--format", "json", code=0))
    assert report["status"] == "match" and [c["check"] for c in report["checks"]] == list(CHECKS)
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert statuses["anchor"] == statuses["data"] == statuses["signature"] == "valid"
    assert statuses["pinned-signer"] == "not-applicable"


def test_with_a_snapshot_proof_file_and_pins(server: Server, tmp_path: Path) -> None:
    proof = tmp_path / "v1.snapshot-proof.json"
    proof.write_text(server.get("/v1/datasets/ci/prices/versions/1/snapshot-proof").text)
    signer = json.loads(proof.read_text())["manifest"]["signer"]
    registry = server.get("/v1/deployment").json()["address"]
    pinned = ["--snapshot-proof", str(proof), "--signer", signer, "--registry", registry]
    junit = ET.fromstring(gate(server, data(tmp_path), *pinned, "--format", "junit", code=0))
    suite = junit.find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("errors") == "0"
    assert [c.get("name") for c in suite.iter("testcase")] == list(CHECKS)

    other = "0x" + "12" * 20
    out = gate(server, data(tmp_path), "--snapshot-proof", str(proof), "--signer", other, code=1)
    assert "pinned-signer.mismatch" in out
    out = gate(server, data(tmp_path), "--snapshot-proof", str(proof), "--registry", other, code=1)
    assert "pinned-registry.mismatch" in out


def test_a_changed_file_lists_records_by_key_and_row(server: Server, tmp_path: Path) -> None:
    changed = "symbol,date,close\nBTC,2026-11-27,97001\nSOL,2026-11-27,240.5\nADA,2026-11-27,0.9\n"
    report = json.loads(gate(server, data(tmp_path, changed), "--format", "json", code=1))
    assert report["status"] == "mismatch"
    assert report["checks"][0]["reason"] == "data.root-mismatch"
    assert report["diff"]["counts"] == {"added": 1, "removed": 1, "changed": 1, "moved": 1}
    kinds = {(c["kind"], c["key"]): c["line"] for c in report["diff"]["changes"]}
    assert kinds == {
        ("changed", '["BTC","2026-11-27"]'): 2,
        ("moved", '["SOL","2026-11-27"]'): 3,
        ("added", '["ADA","2026-11-27"]'): 4,
        ("removed", '["ETH","2026-11-27"]'): None,
    }
    assert "hash to the signed root" in report["notes"][0]  # the API's records were recomputed

    # the same from an earlier copy of the file instead of the API
    previous = data(tmp_path, name="anchored.csv")
    local = json.loads(
        gate(server, data(tmp_path, changed), "--previous", str(previous), "--format", "json", code=1)
    )
    assert local["diff"]["counts"] == report["diff"]["counts"]

    sarif_path = tmp_path / "out.sarif"
    text = gate(server, data(tmp_path, changed), "--format", "sarif", "--output", str(sarif_path), code=1)
    assert "result: mismatch" in text
    sarif = json.loads(sarif_path.read_text())
    jsonschema.validate(sarif, json.loads((VECTORS / "sarif" / "sarif-subset.schema.json").read_text()))
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert set(results) == {"check-data", "record-changed", "record-moved", "record-added", "record-removed"}
    region = results["record-changed"]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2}
    assert "BTC" in results["record-changed"]["message"]["text"]


def test_a_value_that_no_longer_parses_is_a_mismatch(server: Server, tmp_path: Path) -> None:
    broken = PRICES.replace("3610", "n/a")
    out = gate(server, data(tmp_path, broken), code=1)
    assert "does not read under the signed schema" in out and "line 3" in out


def test_unusable_input_exits_2(server: Server, tmp_path: Path) -> None:
    out = gate(server, tmp_path / "missing.csv", code=2)
    assert "input.not-found" in out
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"format": "provenance-snapshot-proof/v1"}')
    out = gate(server, data(tmp_path), "--snapshot-proof", str(garbage), code=2)
    assert "snapshot-proof.malformed" in out
    out = gate(server, data(tmp_path), "--version", "7", code=2)
    assert "snapshot.not-found" in out
    proof = tmp_path / "p.json"
    proof.write_text(server.get("/v1/datasets/ci/prices/versions/1/snapshot-proof").text)
    cmd = [str(EXE), "check", str(data(tmp_path)), "--dataset", "ci/other", "--snapshot-proof", str(proof)]
    done = subprocess.run([*cmd, "--rpc-url", rpc(server)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "check.wrong-snapshot" in done.stderr
    out = gate(server, data(tmp_path), code=2, api=False)
    assert "give --snapshot-proof FILE or --api URL" in out


def test_a_tampered_proof_fails_the_check_it_breaks(server: Server, tmp_path: Path) -> None:
    doc: dict[str, Any] = server.get("/v1/datasets/ci/prices/versions/1/snapshot-proof").json()
    sig = doc["manifest"]["signature"]
    doc["manifest"]["signature"] = sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:]
    proof = tmp_path / "tampered.json"
    proof.write_text(json.dumps(doc))
    report = json.loads(
        gate(server, data(tmp_path), "--snapshot-proof", str(proof), "--format", "json", code=1)
    )
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert statuses["data"] == "valid" and statuses["signature"] == "invalid"
    assert report["status"] == "failed"


def test_a_derived_dataset_is_checked_with_its_parents_from_the_api(server: Server, tmp_path: Path) -> None:
    spec = {
        "name": "ci/ratings",
        "key": ["symbol"],
        "derivedFrom": "_derived_from",
        "signingKey": "dev-source",
    }
    assert server.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    rows = [
        {
            "symbol": s,
            "grade": g,
            "_derived_from": [{"dataset": "ci/prices", "version": 1, "key": [s, "2026-11-27"]}],
        }
        for s, g in (("BTC", 81), ("ETH", 64))
    ]
    body = "".join(json.dumps(r) + "\n" for r in rows)
    transform = {"name": "grade", "code": "git:" + "2" * 40, "params": {}}
    headers = {
        **ADMIN,
        "Content-Type": "application/x-ndjson",
        "Provenance-Transform": base64.b64encode(json.dumps(transform).encode()).decode(),
    }
    up = server.post(
        "/v1/datasets/ci/ratings/versions?parents=ci/prices@1", content=body.encode(), headers=headers
    )
    assert up.status_code == 201, up.text
    server.wait_for("/v1/datasets/ci/ratings/versions/1/snapshot-proof", lambda b: b["anchor"] is not None)
    file = data(tmp_path, body, "ratings.jsonl")
    cmd = [str(EXE), "check", str(file), "--dataset", "ci/ratings", "--rpc-url", rpc(server)]
    done = subprocess.run([*cmd, "--api", server.url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    proof = tmp_path / "r.json"
    proof.write_text(server.get("/v1/datasets/ci/ratings/versions/1/snapshot-proof").text)
    done = subprocess.run([*cmd, "--snapshot-proof", str(proof)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "check.needs-parents" in done.stderr


# --- ratings published with proofs: export, verify, cut ---------------------------------------


def cli(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_an_exported_version_verifies_against_the_chain(server: Server, tmp_path: Path) -> None:
    jsonl = tmp_path / "prices.proofs.jsonl"
    cli("export", "ci/prices", "1", "--with-proofs", "--api", server.url, "--output", str(jsonl))
    assert len(jsonl.read_text().splitlines()) == 4  # header + 3 records
    verdict = json.loads(cli("verify", str(jsonl), "--rpc-url", rpc(server), "--json"))
    assert verdict["status"] == "valid" and verdict["records"] == {"count": 3, "valid": 3}
    assert {c["check"]: c["status"] for c in verdict["snapshots"][0]["checks"]}["anchor"] == "valid"

    doc = tmp_path / "prices.proofs.json"
    cli(
        "export",
        "ci/prices",
        "1",
        "--with-proofs",
        "--format",
        "json",
        "--api",
        server.url,
        "--output",
        str(doc),
    )
    assert "records: 3 of 3 valid" in cli("verify", str(doc), "--rpc-url", rpc(server))
    one = tmp_path / "one.json"
    one.write_text(cli("cut", str(doc), "--index", "2"))
    assert json.loads(cli("verify", str(one), "--rpc-url", rpc(server), "--json"))["status"] == "valid"

    lines = jsonl.read_text().splitlines()
    lines[1] = lines[1].replace("97000", "97001")
    jsonl.write_text("\n".join(lines) + "\n")
    out = cli("verify", str(jsonl), "--rpc-url", rpc(server), code=1)
    assert "inclusion.root-mismatch" in out and "verdict: invalid" in out


def test_export_from_the_data_directory_and_the_plain_records(server: Server, tmp_path: Path) -> None:
    env = {**os.environ, "PROVENANCE_DATA_DIR": str(server.data_dir)}
    env["PROVENANCE_KEY_PASSWORD"] = server.env["PROVENANCE_KEY_PASSWORD"]
    local = cli("export", "ci/prices", "1", "--with-proofs", env=env)
    served = cli("export", "ci/prices", "1", "--with-proofs", "--api", server.url)
    assert local.splitlines()[1:] == served.splitlines()[1:]
    plain = cli("export", "ci/prices", "1", "--api", server.url).splitlines()
    assert [json.loads(x)["record"]["symbol"] for x in plain] == ["BTC", "ETH", "SOL"]
    out = cli("export", "ci/prices", "1", "--format", "json", "--api", server.url, code=2)
    assert "input.bad-arguments" in out
    out = cli("export", "ci/prices", "9", "--with-proofs", "--api", server.url, code=2)
    assert "snapshot.not-found" in out


def test_a_retracted_version_is_reported_retracted(server: Server, tmp_path: Path) -> None:
    """#12 bar: a retracted checkpoint-mode snapshot is `retracted` (exit 1) in the gate."""
    text = PRICES + "ADA,2026-11-27,0.9\n"
    up = server.post("/v1/datasets/ci/prices/versions?format=csv", content=text.encode(), headers=ADMIN)
    assert up.status_code == 201, up.text
    version = up.json()["version"]
    server.wait_for(
        f"/v1/datasets/ci/prices/versions/{version}/snapshot-proof", lambda b: b["anchor"] is not None
    )
    r = server.post(
        f"/v1/datasets/ci/prices/versions/{version}/retraction", headers=ADMIN, json={"reason": "bad feed"}
    )
    assert r.status_code == 201, r.text
    server.wait_for(
        f"/v1/datasets/ci/prices/versions/{version}/retraction",
        lambda b: b["state"] in ("mined", "confirmed"),
    )
    report = json.loads(
        gate(server, data(tmp_path, text), "--version", str(version), "--format", "json", code=1)
    )
    assert report["status"] == "retracted", report
    anchor = next(c for c in report["checks"] if c["check"] == "anchor")
    assert anchor["reason"] == "anchor.retracted"
    assert "result: retracted" in gate(server, data(tmp_path, text), "--version", str(version), code=1)
