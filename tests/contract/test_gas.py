"""The gas report's bars as a regression test, through scripts/gas_report.py's printed table."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.contract.harness import ROOT

pytestmark = [pytest.mark.chain, pytest.mark.slow]  # two reports, a 1M-leaf tree and a node each

ROW = re.compile(r"^(?P<op>.*?)\s{2,}(?P<gas>[\d,]+)\s+(?P<bar>[\d,]*)\s+(?P<ok>yes|NO|-)$")


def _gas_rows(*args: str) -> dict[str, tuple[int, str]]:
    """{operation: (gas, "yes" | "NO" | "-")} from scripts/gas_report.py's table."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gas_report.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    matches = [ROW.match(line) for line in proc.stdout.splitlines()[2:]]
    assert matches and all(matches), proc.stdout
    return {m["op"]: (int(m["gas"].replace(",", "")), m["ok"]) for m in matches if m}


def test_gas_bars_of_the_issue() -> None:
    """The gas report's bars as a regression test: every anchorCheckpoint row (up to the longest
    proof into a 1M log) and anchorSnapshot v2 under their bars on anvil's latest fork; the one
    row over its bar is verifyInclusion as a Prague transaction, pinned to the EIP-7623 calldata
    floor, and on a fork before Prague the whole transaction is under 40k."""
    latest = _gas_rows()
    over = [op for op, (_, ok) in latest.items() if ok == "NO"]
    assert len(over) == 1 and over[0].startswith("verifyInclusion 20 levels (estimate_gas"), over
    assert "7623 floor 50,780" in over[0] and latest[over[0]][0] == 50_780
    assert sum(op.startswith("anchorCheckpoint") and ok == "yes" for op, (_, ok) in latest.items()) >= 20
    cancun = _gas_rows("--hardfork", "cancun", "--strict")
    assert all(ok != "NO" for _, ok in cancun.values())
    pre7623 = [gas for op, (gas, _) in cancun.items() if op.startswith("verifyInclusion 20 levels (estimate")]
    assert pre7623 and pre7623[0] <= 40_000
