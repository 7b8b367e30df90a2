"""The GitHub workflow of docs/ci/ runs, exactly as written, on the verifier install against a
real ledger and anvil node: green for the published file, red with SARIF rows for a changed one."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.http.conftest import ADMIN, Server, base_env
from tests.integration.packaging.conftest import ACTION, ROOT, run_step

pytestmark = [pytest.mark.slow, pytest.mark.http, pytest.mark.chain]

WORKFLOW = ROOT / "docs" / "ci" / "provenance-check.yml"
SAMPLE = ROOT / "provenance" / "examples" / "token-ratings.csv"
TYPES = {
    "price_usd": "number",
    "trader_grade": "number",
    "investor_grade": "number",
    "market_cap_usd": "integer",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("serve") / "data", base_env("anvil")).start()
    spec = {
        "name": "tm/ratings/daily",
        "key": ["symbol", "date"],
        "columns": TYPES,
        "signingKey": "dev-source",
    }
    assert s.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    up = s.post(
        "/v1/datasets/tm/ratings/daily/versions?format=csv", content=SAMPLE.read_bytes(), headers=ADMIN
    )
    assert up.status_code == 201, up.text
    s.wait_for("/v1/datasets/tm/ratings/daily/versions/1/snapshot-proof", lambda b: b["anchor"] is not None)
    yield s
    s.stop()


def workflow_inputs(server: Server) -> dict[str, str]:
    """The workflow's ``with:`` for the action, its ``${{ vars.X }}`` set as a repository would."""
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]
    step = next(s for s in job["steps"] if s.get("id") == "provenance")
    assert step["uses"].endswith("/docs/ci@main")
    proof = server.get("/v1/datasets/tm/ratings/daily/versions/1/snapshot-proof").json()
    variables = {
        "PROVENANCE_API": server.url,
        "PROVENANCE_RPC_URL": f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}",
        "PROVENANCE_REGISTRY": server.get("/v1/deployment").json()["address"],
        "PROVENANCE_SIGNER": proof["manifest"]["signer"],
    }
    known = yaml.safe_load(ACTION.read_text())["inputs"]
    out = {}
    for name, value in step["with"].items():
        assert name in known, f"the workflow passes {name}, which the action does not take"
        text = str(value)
        if text.startswith("${{ vars."):
            text = variables[text.removeprefix("${{ vars.").removesuffix(" }}")]
        out[name] = text
    missing = [n for n, d in known.items() if d.get("required") and n not in out]
    assert not missing, missing
    return out


def repository(tmp_path: Path, content: bytes) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "token-ratings.csv").write_bytes(content)
    return tmp_path


def test_the_workflow_passes_on_the_published_file(server: Server, venv: Path, tmp_path: Path) -> None:
    repo = repository(tmp_path, SAMPLE.read_bytes())
    proc = run_step("check", workflow_inputs(server), venv, repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "result: match" in proc.stdout
    suite = ET.parse(repo / "provenance-check.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert json.loads((repo / "provenance-check.sarif").read_text())["runs"][0]["results"] == []


def test_the_workflow_fails_on_a_changed_record(server: Server, venv: Path, tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("3610.20", "3611.20")  # ETH's price, line 3 of the file
    repo = repository(tmp_path, "".join(lines).encode())
    proc = run_step("check", workflow_inputs(server), venv, repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = json.loads((repo / "provenance-check.sarif").read_text())["runs"][0]["results"]
    changed = [r for r in results if r["ruleId"] == "record-changed"]
    assert len(changed) == 1 and "ETH" in changed[0]["message"]["text"]
    assert changed[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert (
        changed[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "data/token-ratings.csv"
    )
