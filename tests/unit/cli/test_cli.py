"""The CLI end to end: build → sign → prove → verify, exit codes, and clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provenance.cli import app

SAMPLE = Path(__file__).resolve().parents[3] / "provenance" / "examples" / "token-ratings.csv"
TYPES = "price_usd=number,trader_grade=number,investor_grade=number,market_cap_usd=integer"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"PROVENANCE_DATA_DIR": str(tmp_path / "data"), "PROVENANCE_KEY_PASSWORD": "test-password-1"}


@pytest.fixture
def run(env: dict[str, str]):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        output = result.output
        assert "Traceback" not in output
        assert result.exit_code == code, output
        return output

    return invoke


@pytest.fixture
def signed(run, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    run("keys", "new", "--name", "publisher")
    out = tmp_path / "snap"
    text = run(
        "snapshot",
        "build",
        str(SAMPLE),
        "--dataset",
        "tm/ratings/daily",
        "--key",
        "symbol,date",
        "--types",
        TYPES,
        "--out",
        str(out),
    )
    root = text.strip().splitlines()[-1]
    assert len(root) == 64
    int(root, 16)
    run("snapshot", "sign", str(out), "--source-key", str(tmp_path / "data" / "keys" / "publisher.json"))
    return out


def test_build_sign_prove_verify(run, signed: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = run("prove", str(signed), "--key", "ETH,2026-11-27")
    bundle_path = tmp_path / "eth.json"
    bundle_path.write_text(doc)
    assert json.loads(doc)["record"]["entry"]["record"]["symbol"] == "ETH"
    assert "verdict: valid" in run("verify", "--offline", str(bundle_path))
    # online, an unanchored bundle is incomplete: exit 1, anchor named
    out = run("verify", str(bundle_path), code=1)
    assert "anchor.absent" in out
    verdict = json.loads(run("verify", "--offline", "--json", str(bundle_path)))
    assert verdict["status"] == "valid"
    # a key with a comma inside, given as a JSON array
    run("prove", str(signed), "--key", '["MATIC, (POL)", "2026-11-27"]')


def test_tampered_bundle_exits_1_naming_the_check(run, signed: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(run("prove", str(signed), "--key", "BTC,2026-11-27"))
    doc["record"]["entry"]["record"]["price_usd"] = 1.0
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    out = run("verify", "--offline", str(path), code=1)
    assert "proof.root-mismatch" in out
    assert "verdict: invalid" in out


def test_unusable_bundle_exits_2(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.json"
    path.write_text('{"format": "provenance-proof/v1"')
    assert "bundle.malformed" in run("verify", str(path), code=2)
    assert "error" in run("verify", str(tmp_path / "missing.json"), code=2)


def test_bad_input_file_leaves_no_snapshot(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,v\nA,1\nB,2\nA,3\n")
    out = run(
        "snapshot",
        "build",
        str(bad),
        "--dataset",
        "x",
        "--key",
        "symbol",
        "--out",
        str(tmp_path / "s"),
        code=2,
    )
    assert "bad.csv, line 4: duplicate record key" in out
    assert not (tmp_path / "s").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.")]
    assert "already exists" in run(
        "snapshot", "build", str(SAMPLE), "--dataset", "x", "--key", "symbol", "--out", str(tmp_path), code=2
    )
    assert "dataset name" in run(
        "snapshot",
        "build",
        str(SAMPLE),
        "--dataset",
        "Bad Name",
        "--key",
        "symbol",
        "--out",
        str(tmp_path / "t"),
        code=2,
    )


def test_prove_errors(run, signed: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "no record with key" in run("prove", str(signed), "--key", "NOPE,2026-11-27", code=2)
    assert "needs 2 value(s)" in run("prove", str(signed), "--key", "BTC", code=2)
    unsigned = tmp_path / "u"
    run("snapshot", "build", str(SAMPLE), "--dataset", "x", "--key", "symbol", "--out", str(unsigned))
    assert "not signed yet" in run("prove", str(unsigned), "--key", "BTC", code=2)


def test_sign_with_wrong_password(run, signed: Path, env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env["PROVENANCE_KEY_PASSWORD"] = "wrong-password"
    out = run(
        "snapshot",
        "sign",
        str(signed),
        "--source-key",
        str(tmp_path / "data" / "keys" / "publisher.json"),
        code=2,
    )
    assert "wrong password" in out


def test_keys_commands(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    created = run("keys", "new", "--name", "log", "--kind", "log", "--origin", "example.org/log")
    assert "example.org/log+" in created
    run("keys", "new", "--name", "src")
    listing = run("keys", "list")
    assert "log" in listing
    assert "src" in listing
    assert "0600" in run("keys", "show", "src").replace("0o600", "0600")
    assert "password ok" in run("keys", "show", "log", "--check")
    assert "already exists" in run("keys", "new", "--name", "src", code=2)
    assert "no key named" in run("keys", "show", "nope", code=2)


def test_console_script_exit_codes(signed: Path, env: dict[str, str], tmp_path: Path) -> None:
    """The installed entry point, as a CI pipeline would call it."""
    exe = Path(sys.executable).parent / "provenance"
    full_env = {**os.environ, **env}
    proc = subprocess.run(
        [str(exe), "prove", str(signed), "--key", "SOL,2026-11-27"],
        capture_output=True,
        env=full_env,
        check=True,
    )
    path = tmp_path / "sol.json"
    path.write_bytes(proc.stdout)
    ok = subprocess.run([str(exe), "verify", "--offline", str(path)], capture_output=True, env=full_env)
    assert ok.returncode == 0, ok.stderr
    path.write_bytes(proc.stdout[:-40])
    bad = subprocess.run([str(exe), "verify", str(path)], capture_output=True, env=full_env)
    assert bad.returncode == 2
    assert b"Traceback" not in bad.stderr + bad.stdout


def test_build_with_quality_rules(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The publisher's offline build runs the rules: a v2 manifest, its report beside it, and an
    error rule that fails leaves no snapshot, naming line and rule."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"column": "trader_grade", "minimum": 60, "level": "warn"}]))
    build = (
        "snapshot",
        "build",
        str(SAMPLE),
        "--dataset",
        "tm/q",
        "--key",
        "symbol,date",
        "--rules",
        str(rules),
    )
    run(*build, "--out", str(tmp_path / "ok"))
    manifest = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    report = json.loads((tmp_path / "ok" / "quality.json").read_text())
    assert manifest["format"] == "provenance-manifest/v2"
    assert manifest["quality"]["failedRules"] == report["failedRules"] == ["trader_grade.minimum"]
    rules.write_text(json.dumps([{"column": "symbol", "pattern": "[A-Z]{2,5}"}]))
    out = run(*build, "--out", str(tmp_path / "no"), code=2)
    assert "error [quality.rule-failed]" in out and "line 11, column symbol: rule symbol.pattern" in out
    assert not (tmp_path / "no").exists()
    rules.write_text(json.dumps([{"column": "symbol", "pattern": "(a)\\1"}]))
    assert "RE2 cannot run the pattern" in run(*build, "--out", str(tmp_path / "re"), code=2)


def test_a_hostile_proofs_file_gets_its_own_error(run, signed: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    published = run("prove", str(signed), "--all").splitlines()
    header = json.loads(published[0])
    hostile = tmp_path / "hostile.jsonl"
    # an integer past what the header may hold: still a collection, refused as one
    hostile.write_text("\n".join([json.dumps({**header, "recordCount": 10**30}), *published[1:]]) + "\n")
    out = run("verify", "--offline", str(hostile), code=2)
    assert out.startswith(
        "error [collection.malformed]: line 1 (the header): not valid JSON: recordCount: an"
    )
    # a record whose leaf index is past uint64: that record fails, by its line
    rec = json.loads(published[3])
    rec["leafIndex"] = 2**64
    hostile.write_text("\n".join([*published[:3], json.dumps(rec), *published[4:]]) + "\n")
    out = run("verify", "--offline", str(hostile), code=1)
    assert "failed line 4: [collection.bad-record] leafIndex must be an integer from 0 to 2^64-1" in out
    assert f"records: 0 of {len(published) - 1} valid" in out
