"""The CI gate on a 1,000,000-record CSV: `provenance check` end to end (bars: < 8 s, peak
memory < 1 GiB), against a snapshot directly anchored on a local anvil node.

Run with `make bench-check`. Prints wall time and peak PSS of the whole process tree (the
command and its worker processes) per run, beside two reference points on the same file and
machine: `sha256sum` (a plain file digest: what a gate that cannot name records costs) and
`provenance snapshot build` (the publisher's own ingest of the same file).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_core import MemorySampler, write_csv  # noqa: E402

from provenance.chain.backends import AnvilNode  # noqa: E402

EXE = str(Path(sys.executable).parent / "provenance")


def cli(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True)
    if done.returncode not in ok:
        raise SystemExit(f"provenance {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout


def timed(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    with MemorySampler() as mem:
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        took = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} -> {done.returncode}\n{done.stdout}{done.stderr}")
    return took, mem.peak


def prepare(work: Path, n: int, env: dict[str, str], url: str) -> tuple[Path, Path, float, int]:
    data = work / "data.csv"
    write_csv(data, n)
    registry = next(w for w in cli(env, "chain", "deploy", "--rpc-url", url).split() if w.startswith("0x"))
    address = next(w for w in cli(env, "keys", "new", "--name", "bench").split() if w.startswith("0x"))
    cli(env, "chain", "register-source", address, "--rpc-url", url)
    snap = work / "snap"
    build = [EXE, "snapshot", "build", str(data), "--dataset", "bench/check", "--key", "symbol,date"]
    build += ["--types", "price_usd=number,volume=integer", "--out", str(snap)]
    build_s, build_mem = timed(build, env)
    key = str(work / "data-dir" / "keys" / "bench.json")
    cli(
        env, "snapshot", "sign", str(snap), "--source-key", key, "--chain-id", "31337", "--registry", registry
    )
    cli(env, "anchor", str(snap), "--rpc-url", url)
    proof = work / "proof.json"
    proof.write_text(cli(env, "prove", str(snap), "--snapshot"))
    return data, proof, build_s, build_mem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    env = {**os.environ, "PROVENANCE_DATA_DIR": str(work / "data-dir"), "PROVENANCE_KEY_PASSWORD": "bench-pw"}
    env["PROVENANCE_DEPLOYMENTS_DIR"] = str(work / "deployments")  # not the repository's own record
    node = AnvilNode(log_file=work / "anvil.log")
    node.start()
    try:
        data, proof, build_s, build_mem = prepare(work, args.records, env, node.url)
        gate = [EXE, "check", str(data), "--dataset", "bench/check", "--snapshot-proof", str(proof)]
        gate += ["--rpc-url", node.url, "--format", "json"]
        runs = [timed(gate, env) for _ in range(args.runs)]
        report = json.loads(subprocess.run(gate, env=env, capture_output=True, text=True).stdout)
        changed = work / "changed.csv"
        lines = data.read_text().splitlines(keepends=True)
        lines[500_000 if len(lines) > 500_000 else 1] = lines[1].replace("TKN0,", "TKNX,")
        changed.write_text("".join(lines))
        diff_s, diff_mem = timed([*gate[:2], str(changed), *gate[3:], "--previous", str(data)], env, ok=(1,))
        sha_s, _ = timed(["sha256sum", str(data)], env)
        published = work / "published.jsonl"
        with published.open("wb") as f:
            start = time.perf_counter()
            subprocess.run([EXE, "prove", str(work / "snap"), "--all"], env=env, stdout=f, check=True)
            export_s = time.perf_counter() - start
        verify_cmd = [EXE, "verify", str(published), "--rpc-url", node.url]
        verify_runs = [timed(verify_cmd, env) for _ in range(args.runs)]
        size_mb, published_mb = data.stat().st_size / 1e6, published.stat().st_size / 1e6
    finally:
        node.stop()
        shutil.rmtree(work, ignore_errors=True)  # 1.8 GB of CSVs and proofs
    walls = [r[0] for r in runs]
    print(f"provenance check, {args.records:,}-record CSV ({size_mb:.0f} MB), {os.cpu_count()} cores")
    print(
        f"  verdict: {report['status']}; checks: "
        + ", ".join(f"{c['check']}={c['status']}" for c in report["checks"])
    )
    print(
        f"  check (match): wall {min(walls):.2f}-{max(walls):.2f} s (median {statistics.median(walls):.2f}),"
        f" peak PSS {max(r[1] for r in runs) / 2**20:.0f} MiB   [bars: < 8 s, < 1024 MiB]"
    )
    print(f"  check (1 record changed, --previous): wall {diff_s:.2f} s, peak PSS {diff_mem / 2**20:.0f} MiB")
    vwalls = [r[0] for r in verify_runs]
    print(
        f"provenance verify, every record with its proof ({published_mb:.0f} MB JSON Lines,"
        f" written by prove --all in {export_s:.2f} s): wall {min(vwalls):.2f}-{max(vwalls):.2f} s,"
        f" peak PSS {max(r[1] for r in verify_runs) / 2**20:.0f} MiB   [bar: < 10 s]"
    )
    print(
        f"  peer: sha256sum of the file {sha_s:.2f} s; provenance snapshot build {build_s:.2f} s,"
        f" peak PSS {build_mem / 2**20:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
