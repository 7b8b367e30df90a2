"""The verifier install: ``pip install .`` (no extras) in a fresh venv gives the CLI verbs an auditor
or a CI gate needs, and none of the server stack."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.packaging.conftest import ROOT

GOLDEN = ROOT / "tests" / "vectors" / "bundles" / "v1" / "plain-with-log.json"
SERVER_STACK = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "eth_tester", "starlette")

pytestmark = pytest.mark.slow


def run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    return subprocess.run(
        [str(venv / "bin" / "provenance"), *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_verify_a_golden_bundle(venv: Path) -> None:
    proc = run(venv, "verify", str(GOLDEN), "--offline", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["status"] == "valid"


def test_a_tampered_bundle_fails(venv: Path, tmp_path: Path) -> None:
    doc = json.loads(GOLDEN.read_text())
    doc["record"]["entry"]["record"]["price"] = 1  # not what was signed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    proc = run(venv, "verify", str(bad), "--offline")
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_no_server_stack_is_installed(venv: Path) -> None:
    probe = "import importlib.util, sys; print([m for m in sys.argv[1:] if importlib.util.find_spec(m)])"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe, *SERVER_STACK], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_offline_verbs_are_there_and_serve_says_what_is_missing(venv: Path) -> None:
    help_text = run(venv, "--help").stdout
    for verb in ("snapshot", "prove", "verify", "check", "keys", "chain", "anchor"):
        assert verb in help_text
    proc = run(venv, "serve")
    assert proc.returncode == 2
    assert "error [config.server-not-installed]" in proc.stderr
    assert "pip install 'provenance-ledger[server]'" in proc.stderr
    assert "Traceback" not in proc.stderr
