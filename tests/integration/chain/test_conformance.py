"""The contract conformance check (scripts/check_contract.py) and the artifact rebuild, in the suite.

check_contract runs every RFC 9162 vector, an exhaustive sweep of proofs for trees up to 70
leaves, and every signature, source, signer, version, retraction and checkpoint rule through a
fresh anvil node (~2,200 checks). The artifact check recompiles the contract with the pinned
npm solc and compares ABI and bytecode byte for byte with the artifact the package ships.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_contract_conformance_on_anvil() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_contract.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed, failed = (int(part.split()[0]) for part in summary.split(","))
    assert failed == 0
    assert passed > 2000, summary


def test_artifact_is_what_the_pinned_compiler_builds() -> None:
    proc = subprocess.run(
        ["node", str(ROOT / "scripts" / "compile.js"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
