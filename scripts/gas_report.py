#!/usr/bin/env python3
"""Gas report for ProvenanceRegistry on a throwaway anvil node.

Starts anvil (from the `@foundry-rs/anvil` npm package) on a free 127.0.0.1 port, deploys the
contract from the committed artifact, measures the receipt gasUsed (estimate_gas for views) of
the operations that have gas bars, prints a table and stops anvil.

Checkpoint rows: `anchorCheckpoint` by the primary anchorer at log sizes 10, 1,000 and 1,000,000
from a previous checkpoint at n-1, n-7, n-100 and n-1000 (where that is >= 1), with the proof
length; a run of consecutive anchors near 1,000,000 (a periodic storage spike would show there);
a non-primary anchorer (one more cold storage read); the first anchor (no proof).

    .venv/bin/python scripts/gas_report.py [--hardfork cancun] [--strict] [--cadence N]

`--strict` exits 1 when any row misses its bar. The node, the deploy and the measurements are
the contract tests' harness (tests/contract/harness.py, tests/contract/measure.py); the table
format is parsed by tests/contract/test_gas.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for `provenance` and `tests.contract` when run as a file

from tests.contract.harness import AnvilError, demo_tree  # noqa: E402
from tests.contract.measure import Row, measure_all  # noqa: E402


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hardfork", help="anvil hardfork (default: anvil's latest)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any row misses its bar")
    parser.add_argument(
        "--cadence",
        type=int,
        metavar="N",
        help="also anchor every checkpoint of a worker that checkpoints each N entries (slow)",
    )
    return parser.parse_args(argv)


def print_table(node: str, hardfork: str | None, rows: list[Row]) -> int:
    """Prints the report; returns how many rows miss their bar."""
    width = max(len(r.op) for r in rows)
    print(f"ProvenanceRegistry gas ({node}, hardfork {hardfork or 'default'}; receipt gasUsed unless noted)")
    print(f"{'operation':<{width}}  {'gas':>8}  {'bar':>8}  ok?")
    failed = 0
    for r in rows:
        ok = "-" if r.bar is None else ("yes" if r.gas <= r.bar else "NO")
        failed += ok == "NO"
        print(f"{r.op:<{width}}  {r.gas:>8,}  {'' if r.bar is None else f'{r.bar:,}':>8}  {ok}")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.monotonic()
    tree = demo_tree(1_000_000)
    print(f"built 1,000,000-leaf reference tree in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    try:
        report = measure_all(tree, args.hardfork, args.cadence)
    except AnvilError as exc:
        raise SystemExit(str(exc)) from exc
    for note in report.notes:
        print(note, file=sys.stderr)
    failed = print_table(report.node, args.hardfork, report.rows)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
