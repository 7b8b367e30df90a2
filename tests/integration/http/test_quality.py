"""#12 item 2, through the real service and the gate: a dataset's signed schema carries quality
rules; an upload that breaks an error rule is refused naming line and rule, and leaves nothing;
one that breaks warn rules is accepted with its report served and signed by digest; and
``provenance check``, holding only the file, the chain and the published snapshot proof, re-runs
the rules and recomputes that digest."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from tests.integration.http.conftest import ADMIN, EXE, Server

pytestmark = [pytest.mark.http, pytest.mark.chain]

NAME = "tm/quality/ratings"
RULES: list[dict[str, Any]] = [
    {"column": "symbol", "pattern": "[A-Z]{2,5}"},
    {"column": "trader_grade", "type": "number"},
    {"column": "trader_grade", "maximum": 100},
    {"column": "trader_grade", "minimum": 60, "level": "warn"},
    {"column": "date", "type": "date"},
    {"rowCount": {"min": 1}},
]
GOOD = "symbol,date,trader_grade\nBTC,2026-11-27,82.1\nETH,2026-11-27,74.3\nXRP,2026-11-27,58.2\n"


@pytest.fixture(scope="module")
def server(shared_anvil_server: Server) -> Server:
    s = shared_anvil_server
    spec = {"name": NAME, "key": ["symbol", "date"], "signingKey": "dev-source", "rules": RULES}
    created = s.post("/v1/datasets", json=spec, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["schema"]["format"] == "provenance-schema/v2"
    up = s.post(f"/v1/datasets/{NAME}/versions?format=csv", content=GOOD.encode(), headers=ADMIN)
    assert up.status_code == 201, up.text
    s.wait_for(f"/v1/datasets/{NAME}/versions/1/snapshot-proof", lambda b: b["anchor"] is not None)
    return s


def test_an_error_rule_refuses_the_upload_naming_line_and_rule(server: Server) -> None:
    bad = GOOD + "DOGE,2026-11-27,101\n"
    r = server.post(f"/v1/datasets/{NAME}/versions?format=csv", content=bad.encode(), headers=ADMIN)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "quality.rule-failed"
    assert (problem["line"], problem["column"]) == (5, "trader_grade")
    assert "rule trader_grade.maximum (maximum 100): '101' fails it" in problem["detail"]
    assert "/" not in problem["source"] and "Traceback" not in r.text  # no server path
    versions = server.get(f"/v1/datasets/{NAME}/versions").json()
    assert [v["version"] for v in versions] == [1]  # nothing half there


def test_the_report_is_served_and_signed_by_digest(server: Server) -> None:
    report = server.get(f"/v1/datasets/{NAME}/versions/1/quality").json()
    assert report["format"] == "provenance-quality/v1" and report["records"] == 3
    assert report["failedRules"] == ["trader_grade.minimum"]
    warn = next(r for r in report["rules"] if r["rule"] == "trader_grade.minimum")
    assert (warn["failures"], warn["firstKeys"]) == (1, [["XRP", "2026-11-27"]])
    proof = server.get(f"/v1/datasets/{NAME}/versions/1/snapshot-proof").json()
    manifest = proof["manifest"]["manifest"]
    assert manifest["format"] == "provenance-manifest/v2"
    digest = "0x" + hashlib.sha256(rfc8785.dumps(report)).hexdigest()
    assert manifest["quality"] == {"report": digest, "failedRules": ["trader_grade.minimum"]}
    bundle = server.get(f"/v1/datasets/{NAME}/versions/1/proof?key=XRP,2026-11-27").json()["bundle"]
    verdict = server.post("/v1/verify", json=bundle).json()
    assert verdict["status"] == "valid", verdict
    assert [w["reason"] for w in verdict["warnings"]] == ["quality.rules-failed"]
    none = server.get("/v1/datasets/ci/none/versions/1/quality")
    assert none.status_code == 404


def check(server: Server, file: Path, proof: Path) -> dict[str, Any]:
    rpc = f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"
    cmd = [str(EXE), "check", str(file), "--dataset", NAME, "--snapshot-proof", str(proof), "--rpc-url", rpc]
    done = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    result["exit"] = done.returncode
    return result


def test_the_gate_recomputes_the_report_from_file_proof_and_chain(server: Server, tmp_path: Path) -> None:
    proof = tmp_path / "v1.snapshot-proof.json"
    proof.write_text(server.get(f"/v1/datasets/{NAME}/versions/1/snapshot-proof").text)
    data = tmp_path / "ratings.csv"
    data.write_text(GOOD)
    result = check(server, data, proof)
    quality = next(c for c in result["checks"] if c["check"] == "quality")
    signed = json.loads(proof.read_text())["manifest"]["manifest"]["quality"]["report"]
    assert result["exit"] == 0 and quality["status"] == "valid", result
    assert signed.removeprefix("0x") in quality["detail"]
    # A file that breaks an error rule now no longer reads under the signed schema: a mismatch.
    data.write_text(GOOD.replace("74.3", "174.3"))
    result = check(server, data, proof)
    first = result["checks"][0]
    assert (result["exit"], first["reason"]) == (1, "quality.rule-failed")
    assert "line 3" in first["detail"] and "trader_grade.maximum" in first["detail"]


def test_a_source_signed_v2_manifest_is_checked_against_the_rules(server: Server, tmp_path: Path) -> None:
    """The source runs the rules and signs the summary itself; the ledger runs them again and
    refuses a manifest whose signed summary is not what the data gives."""
    import dataclasses
    import os

    from provenance.keys import load_source_key
    from provenance.manifest import Domain, Manifest, sign
    from provenance.quality.report import QualitySummary

    env = {
        **os.environ,
        "PROVENANCE_DATA_DIR": str(tmp_path / "cli"),
        "PROVENANCE_KEY_PASSWORD": "cli-password-1",
    }

    def run(*args: str) -> str:
        return subprocess.run([str(EXE), *args], env=env, capture_output=True, text=True, check=True).stdout

    address = run("keys", "new", "--name", "src").split()[3]
    assert (
        server.post("/v1/sources", headers=ADMIN, json={"address": address, "name": "q-src"}).status_code
        == 201
    )
    spec = {"name": "tm/quality/signed", "key": ["symbol", "date"], "rules": RULES}
    assert server.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    (tmp_path / "rules.json").write_text(json.dumps(RULES))
    (tmp_path / "data.csv").write_text(GOOD)
    deployment = server.get("/v1/deployment").json()
    snap = tmp_path / "snap"
    build = ["snapshot", "build", str(tmp_path / "data.csv"), "--dataset", "tm/quality/signed"]
    run(*build, "--key", "symbol,date", "--rules", str(tmp_path / "rules.json"), "--out", str(snap))
    source_key = tmp_path / "cli" / "keys" / "src.json"
    chain = ["--chain-id", str(deployment["chainId"]), "--registry", deployment["address"]]
    run("snapshot", "sign", str(snap), "--source-key", str(source_key), *chain)
    signed = json.loads((snap / "signed-manifest.json").read_text())
    assert signed["manifest"]["format"] == "provenance-manifest/v2"
    # a summary that claims the data passed every rule, signed by the same source
    manifest = Manifest.from_json(signed["manifest"])
    assert manifest.quality is not None and manifest.quality.failed_rules == ("trader_grade.minimum",)
    lie = dataclasses.replace(manifest, quality=QualitySummary(manifest.quality.report, ()))
    lying = sign(
        lie,
        Domain(deployment["chainId"], deployment["address"]),
        load_source_key(source_key, "cli-password-1"),
    )
    files = {"file": ("data.csv", GOOD.encode(), "text/csv"), "manifest": (None, json.dumps(lying.to_json()))}
    r = server.post("/v1/datasets/tm/quality/signed/versions", files=files)
    assert (r.status_code, r.json()["code"]) == (422, "signature.manifest-mismatch"), r.text
    assert "quality" in r.json()["detail"]
    files = {"file": ("data.csv", GOOD.encode(), "text/csv"), "manifest": (None, json.dumps(signed))}
    r = server.post("/v1/datasets/tm/quality/signed/versions", files=files)  # the signature suffices
    assert r.status_code == 201, r.text
    report = server.get("/v1/datasets/tm/quality/signed/versions/1/quality").json()
    assert report == json.loads((snap / "quality.json").read_text())  # the source's own report, served
