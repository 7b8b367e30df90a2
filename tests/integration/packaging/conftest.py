"""The verifier install in a fresh venv, made by the CI action's own install step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "docs" / "ci" / "action.yml"


def action_step(step_id: str) -> dict[str, Any]:
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    found: dict[str, Any] = next(s for s in steps if s.get("id") == step_id)
    return found


def run_step(step_id: str, inputs: dict[str, str], venv: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the action's step exactly as written: its env with ``${{ inputs.X }}`` filled in (the
    action's defaults for the inputs not given), its script under bash, the venv first on PATH."""
    spec = yaml.safe_load(ACTION.read_text())["inputs"]
    values = {name: inputs.get(name, str(d.get("default", ""))) for name, d in spec.items()}
    step = action_step(step_id)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for name, expr in step.get("env", {}).items():
        key = expr.removeprefix("${{ inputs.").removesuffix(" }}")
        assert key in values, f"{name} refers to an unknown input {key}"
        env[name] = values[key]
    return subprocess.run(
        ["bash", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="package")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One verifier install for the package's modules (pip building the wheel costs ~20-50 s)."""
    where = tmp_path_factory.mktemp("verifier") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    proc = run_step("install", {"verifier": str(ROOT)}, where, where.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return where
