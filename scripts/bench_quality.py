"""Data-quality rules at ingest: the 1M-record ingest of ``make bench`` with six rules in its
schema against the same ingest without them (#12 bar: within 10 %).

Each run is a fresh process (as ``make bench`` runs the ingest), rule-less and ruled runs
alternate so drift on the machine hits both alike, and every run is printed beside the medians.
The six rules touch five of the six columns: required and type date on ``date``, minimum on
``price_usd``, enum on ``grade``, pattern on ``venue`` and unique on ``volume`` (warn: the random
volumes repeat, so that rule's whole-file pass finds and reports repeats, its slowest case).

    .venv/bin/python scripts/bench_quality.py [--records N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

RULES = [
    {"column": "date", "required": True, "level": "error"},
    {"column": "date", "type": "date", "level": "error"},
    {"column": "price_usd", "minimum": 0, "level": "error"},
    {"column": "grade", "enum": ["A", "B", "C", "D"], "level": "error"},
    {"column": "venue", "pattern": "venue-[0-9]{1,3}", "level": "warn"},
    {"column": "volume", "unique": True, "level": "warn"},
]
# The same with the whole-file rule swapped for a sixth per-record one (--per-record).
PER_RECORD = [*RULES[:5], {"column": "price_usd", "maximum": 1000, "level": "error"}]


def one_run(records: int, workdir: Path, ruled: bool, rules: list[dict[str, object]]) -> dict[str, object]:
    from bench_core import bench_ingest

    from provenance.records.schema import Schema

    shutil.rmtree(workdir / "snapshot", ignore_errors=True)  # the previous run's output
    schema = Schema(("symbol",))
    if ruled:
        schema = Schema.from_json({**schema.to_json(), "format": "provenance-schema/v2", "rules": rules})
    return bench_ingest(records, workdir, schema)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--per-record", action="store_true", help="six per-record rules (no unique)")
    parser.add_argument("--one", choices=["plain", "rules"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        rules = PER_RECORD if args.per_record else RULES
        print(json.dumps(one_run(args.records, args.workdir, args.one == "rules", rules)))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    times: dict[str, list[float]] = {"plain": [], "rules": []}
    print(f"machine: {os.cpu_count()} cores; {args.records:,} records, {args.runs} runs of each, alternating")
    for i in range(args.runs):
        for kind in ("plain", "rules"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    *(["--per-record"] if args.per_record else []),
                    "--one",
                    kind,
                    "--records",
                    str(args.records),
                    "--workdir",
                    str(workdir),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            seconds = json.loads(out.strip().splitlines()[-1])["seconds"]
            times[kind].append(seconds)
            print(f"  run {i + 1} {kind:<6} {seconds:6.2f} s")
    plain, ruled = statistics.median(times["plain"]), statistics.median(times["rules"])
    print(
        f"median: no rules {plain:.2f} s, six rules {ruled:.2f} s: "
        f"{100 * (ruled / plain - 1):+.1f} % (bar: ≤ +10 %)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
