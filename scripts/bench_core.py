"""Core benchmark: tree build against merkletools and pymerkle, and 1M-record ingest.

Run with `make bench` (it builds a separate venv holding the peers: merkletools is installed
there with --no-deps because its pysha3 requirement does not build on Python 3.11).

(a) Build a tree over the same 1,000,000 leaf inputs with each library; report hashes/s
    (leaf hashes + internal node hashes, 2n-1 for n leaves) and the ratios.
(b) Ingest a synthetic 1,000,000-record CSV into a provable snapshot directory (entries,
    keys, tree file, manifest): records/s and peak RSS of the parent and of the workers.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance import merkle  # noqa: E402
from provenance.folder import StagedFolder  # noqa: E402
from provenance.ingest import ingest_file  # noqa: E402
from provenance.manifest import Manifest  # noqa: E402
from provenance.records.schema import Schema  # noqa: E402


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Best of ``repeat`` wall-clock runs (the machine is shared; the best run is the least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_tree(n: int, repeat: int) -> list[tuple[str, float, int]]:
    rng = random.Random(7)
    leaves = [rng.randbytes(32) for _ in range(n)]
    hashes = 2 * n - 1
    rows: list[tuple[str, float, int]] = []

    expected = merkle.MerkleTree.from_leaf_inputs(leaves).root
    rows.append(
        (
            "ours, native, 1 thread",
            timed(lambda: merkle.MerkleTree.from_leaf_inputs(leaves, threads=1), repeat),
            hashes,
        )
    )
    rows.append(
        (
            "ours, native, 2 threads",
            timed(lambda: merkle.MerkleTree.from_leaf_inputs(leaves, threads=2), repeat),
            hashes,
        )
    )
    native = merkle._native
    merkle._native = None  # the pure-Python reference path, for comparison only
    try:
        assert merkle.MerkleTree.from_leaf_inputs(leaves).root == expected
        rows.append(
            (
                "ours, pure Python (reference)",
                timed(lambda: merkle.MerkleTree.from_leaf_inputs(leaves), 1),
                hashes,
            )
        )
    finally:
        merkle._native = native

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import merkletools  # type: ignore[import-untyped]

    def mt() -> None:
        tree = merkletools.MerkleTools(hash_type="sha256")
        tree.add_leaf([leaf.hex() for leaf in leaves], True)
        tree.make_tree()
        assert tree.get_merkle_root()

    rows.append(("merkletools 1.0.3 (no domain separation)", timed(mt, repeat), hashes))

    from pymerkle import InmemoryTree

    def pm() -> None:
        tree = InmemoryTree(algorithm="sha256")
        for leaf in leaves:
            tree.append_entry(leaf)
        root = tree.get_state()
        assert root == expected, "pymerkle is RFC 9162 too: roots must agree"

    rows.append(("pymerkle 7.0.0 (RFC 9162)", timed(pm, 1), hashes))
    return rows


def write_csv(path: Path, n: int) -> None:
    rng = random.Random(11)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["symbol", "date", "price_usd", "volume", "grade", "venue"])
        for i in range(n):
            w.writerow(
                [
                    f"TKN{i}",
                    f"2026-11-{i % 28 + 1:02d}",
                    f"{rng.random() * 1000:.6f}",
                    rng.randint(0, 10**9),
                    "ABCD"[i % 4],
                    f"venue-{i % 17}",
                ]
            )


SAMPLER = r"""
import os, sys, time
root, out = int(sys.argv[1]), sys.argv[2]

def tree(pid):
    pids = [pid]
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            for child in f.read().split():
                pids += tree(int(child))
    return pids

def pss(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0

peak = 0
while os.path.exists(f"/proc/{root}"):
    total = 0
    try:
        for pid in tree(root):
            try:
                total += pss(pid)
            except OSError:
                pass
    except OSError:
        pass
    peak = max(peak, total)
    with open(out, "w") as f:
        f.write(str(peak))
    time.sleep(0.1)
"""


class MemorySampler:
    """Peak proportional set size (PSS) of this process and its children, sampled every 100 ms
    by a separate process (a thread here would change how the ingest starts its workers).

    PSS splits pages shared between the parent and its forked workers, so the sum is the real
    footprint; plain RSS would count the shared pages once per process."""

    def __enter__(self) -> MemorySampler:
        self.out = Path(tempfile.mkstemp(prefix="pss-")[1])
        self.proc = subprocess.Popen([sys.executable, "-c", SAMPLER, str(os.getpid()), str(self.out)])
        time.sleep(0.3)
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.3)
        self.proc.terminate()
        self.proc.wait()
        text = self.out.read_text().strip()
        self.peak = int(text) if text else 0
        self.out.unlink()


def bench_ingest(n: int, workdir: Path, schema: Schema | None = None) -> dict[str, float]:
    data = workdir / "records.csv"
    if not data.exists():
        write_csv(data, n)
    schema = schema or Schema(("symbol",))
    gc.collect()
    out = workdir / "snapshot"
    with MemorySampler() as sampler:  # stopped whatever happens: it watches this process
        start = time.perf_counter()
        staged = StagedFolder(out)
        created_at = int(time.time())
        built = ingest_file(data, schema, staged.sink, as_of=created_at)
        manifest = Manifest(
            dataset="bench/ingest",
            version=1,
            root=built.root,
            size=built.size,
            schema=schema,
            created_at=created_at,
            quality=built.quality.summary() if built.quality is not None else None,
        )
        staged.commit(manifest, built.tree)
        seconds = time.perf_counter() - start
    assert built.size == n
    return {
        "records": n,
        "seconds": seconds,
        "records_per_s": n / seconds,
        "parent_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "total_pss_mib": sampler.peak / 2**20,
        "file_mib": data.stat().st_size / 2**20,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-tree", action="store_true")
    parser.add_argument("--only-ingest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_ingest:
        return ingest_report(args.records)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, native hasher: {merkle.NATIVE}")
    if not args.skip_tree:
        rows = bench_tree(args.leaves, args.repeat)
        ours = rows[0][1]
        print(f"\n(a) tree build over {args.leaves:,} leaves ({2 * args.leaves - 1:,} hashes), best of runs")
        print(f"{'implementation':<44} {'seconds':>8} {'M hashes/s':>11} {'ours (1 thread) is':>20}")
        for name, secs, hashes in rows:
            print(f"{name:<44} {secs:8.3f} {hashes / secs / 1e6:11.2f} {secs / ours:19.1f}x")
    # A fresh process, so the memory the tree peers used above does not count against ingest.
    return subprocess.run(
        [sys.executable, __file__, "--only-ingest", "--records", str(args.records)], check=False
    ).returncode


def ingest_report(records: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        r = bench_ingest(records, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n(b) ingest of a {r['records']:,}-record CSV ({r['file_mib']:.0f} MiB) to a provable snapshot "
        f"(fresh process, {os.cpu_count()} worker processes)"
    )
    print(f"    {r['seconds']:.2f} s, {r['records_per_s']:,.0f} records/s")
    print(
        f"    peak memory: {r['total_pss_mib']:.0f} MiB PSS for parent + workers together "
        f"(peak RSS parent {r['parent_peak_mib']:.0f} MiB, largest worker {r['worker_peak_mib']:.0f} MiB; "
        "RSS counts pages shared with the parent in each)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
