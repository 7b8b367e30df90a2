"""The README's offline sequence against a real anvil: build → sign → anchor → prove → verify.

Defect #11.13: ``provenance anchor DIR`` records the direct anchor in ``DIR/anchor.json`` but
``prove`` left it out, so the sequence ended ``incomplete``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provenance.chain.backends import AnvilNode
from provenance.cli import app
from provenance.proofs import snapshot

pytestmark = pytest.mark.chain

SAMPLE = Path(__file__).resolve().parents[3] / "provenance" / "examples" / "token-ratings.csv"
TYPES = "price_usd=number,trader_grade=number,investor_grade=number,market_cap_usd=integer"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    n = AnvilNode(log_file=tmp_path_factory.mktemp("anvil") / "anvil.log")
    n.start()
    yield n
    n.stop()


def test_build_sign_anchor_prove_verify_is_valid(node: AnvilNode, tmp_path: Path) -> None:
    env = {"PROVENANCE_DATA_DIR": str(tmp_path / "data"), "PROVENANCE_KEY_PASSWORD": "test-password-1"}
    env["PROVENANCE_DEPLOYMENTS_DIR"] = str(tmp_path / "deployments")  # not the repository's own record
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert "Traceback" not in result.output
        assert result.exit_code == code, result.output
        return result.output

    url = node.url
    deployed = run("chain", "deploy", "--rpc-url", url)
    registry = next(w for w in deployed.split() if w.startswith("0x") and len(w) == 42)
    keys = run("keys", "new", "--name", "publisher")
    address = next(w for w in keys.split() if w.startswith("0x") and len(w) == 42)
    run("chain", "register-source", address, "--rpc-url", url)
    out = tmp_path / "snap"
    run(
        "snapshot", "build", str(SAMPLE), "--dataset", "tm/walk", "--key", "symbol,date",
        "--types", TYPES, "--out", str(out),
    )  # fmt: skip
    keyfile = str(tmp_path / "data" / "keys" / "publisher.json")
    run("snapshot", "sign", str(out), "--source-key", keyfile, "--chain-id", "31337", "--registry", registry)
    run("anchor", str(out), "--rpc-url", url)
    doc = json.loads(run("prove", str(out), "--key", "BTC,2026-11-27"))
    assert doc["anchor"] is not None and doc["anchor"]["mode"] == "direct"
    (tmp_path / "b.json").write_text(json.dumps(doc))
    verdict = json.loads(run("verify", str(tmp_path / "b.json"), "--rpc-url", url, "--json"))
    assert verdict["status"] == "valid", verdict

    # the snapshot proof of the same directory: what the CI gate checks a data file against
    proof = snapshot.from_json(json.loads(run("prove", str(out), "--snapshot")))
    assert proof.anchor is not None
    assert "0x" + proof.manifest.manifest.root.hex() == doc["manifest"]["manifest"]["root"]


def test_every_record_with_its_proof_verifies_and_a_changed_one_is_named(
    node: AnvilNode, tmp_path: Path
) -> None:
    from tests.integration.cli.test_walkthrough import test_build_sign_anchor_prove_verify_is_valid as walk

    walk(node, tmp_path)
    env = {"PROVENANCE_DATA_DIR": str(tmp_path / "data"), "PROVENANCE_KEY_PASSWORD": "test-password-1"}
    result = CliRunner().invoke(app, ["prove", str(tmp_path / "snap"), "--all"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n")
    verdict = CliRunner().invoke(
        app, ["verify", str(tmp_path / "all.jsonl"), "--rpc-url", node.url, "--json"]
    )
    doc = json.loads(verdict.output)
    assert verdict.exit_code == 0 and doc["status"] == "valid", verdict.output
    assert doc["records"]["count"] == len(lines) - 1 == doc["records"]["valid"]
    lines[1] = lines[1].replace('"BTC"', '"BTX"', 1)
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n")
    verdict = CliRunner().invoke(
        app, ["verify", str(tmp_path / "all.jsonl"), "--rpc-url", node.url, "--json"]
    )
    assert verdict.exit_code == 1
    assert [f["reason"] for f in json.loads(verdict.output)["failures"]] == ["leaf.key-mismatch"]
