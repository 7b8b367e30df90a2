"""The committed artifact is what the pinned npm solc builds from contracts/ (ABI and bytecode)."""

from __future__ import annotations

import subprocess

import pytest

from tests.contract.harness import ROOT

# No EVM node here (so not `chain`), but a full solc-js compile: ~9 s on two cores.
pytestmark = pytest.mark.slow


def test_artifact_is_what_the_pinned_compiler_builds() -> None:
    proc = subprocess.run(
        ["node", str(ROOT / "scripts" / "compile.js"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
