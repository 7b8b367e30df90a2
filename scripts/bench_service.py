"""Service benchmark: proof latency over HTTP on a 10M-record snapshot, and ingest over HTTP.

    .venv/bin/python scripts/bench_service.py [--records 10000000] [--data-dir DIR] [--duration 30]

1. Ingests a synthetic N-record CSV (default 10,000,000) into a ledger data directory through
   the ledger's own ingest path (skipped when DIR already holds it).
2. Starts `provenance serve --workers 2` on that directory (SQLite) and drives
   GET /v1/datasets/bench/big/versions/1/proof?key=... with random keys from `wrk` (Debian's
   package, a separate process; `make bench-service` installs it), printing p50/p99 latency and
   requests/s as wrk measured them.
3. Uploads a 1,000,000-record CSV over HTTP as a new dataset and reports records/s end to end
   (request start to the 201 response: body transfer, parse, canonicalise, hash, store, sign, log).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance.chain.backends import free_port  # noqa: E402

EXE = Path(sys.executable).parent / "provenance"
ADMIN = "bench-admin-token-1"


def write_csv(path: Path, n: int, prefix: str = "TKN") -> None:
    rng = random.Random(3)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["symbol", "date", "price_usd", "volume", "grade"])
        for i in range(n):
            w.writerow(
                [
                    f"{prefix}{i}",
                    "2026-11-27",
                    f"{rng.random() * 1000:.6f}",
                    rng.randint(0, 10**9),
                    "ABCD"[i % 4],
                ]
            )


def env_for(data_dir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PROVENANCE_DATA_DIR": str(data_dir),
        "PROVENANCE_PORT": str(port),
        "PROVENANCE_CHAIN_BACKEND": "embedded",
        "PROVENANCE_KEY_PASSWORD": "bench-password-1",
        "PROVENANCE_ADMIN_TOKEN": ADMIN,
        "PROVENANCE_LOAD_SAMPLE": "false",
    }


def start(data_dir: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    log = (data_dir / "serve.log").open("ab")
    env = env_for(data_dir, port)
    if workers > 1:
        env["PROVENANCE_CHAIN_BACKEND"] = "anvil"  # the processes share a chain node
        env["PROVENANCE_ANVIL_PORT"] = str(free_port())
    proc = subprocess.Popen([str(EXE), "serve", "--workers", str(workers)], env=env, stdout=log, stderr=log)
    return wait_ready(proc, port, data_dir / "serve.log")


def wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``proc`` once its /readyz answers 200 (two minutes at most)."""
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start; see {log}")


def ensure_big_snapshot(data_dir: Path, n: int, port: int) -> None:
    marker = data_dir / f"bench-{n}.done"
    if marker.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
        path = Path(tmp) / "big.csv"
        t = time.perf_counter()
        write_csv(path, n)
        mib = path.stat().st_size / 2**20
        print(f"wrote {n:,}-record CSV ({mib:.0f} MiB) in {time.perf_counter() - t:.0f} s")
        proc = start(data_dir, port)
        try:
            url = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {ADMIN}"}
            httpx.post(
                f"{url}/v1/datasets",
                headers=headers,
                timeout=60,
                json={"name": "bench/big", "key": ["symbol"], "signingKey": "dev-source"},
            )
            t = time.perf_counter()
            with path.open("rb") as f:
                r = httpx.post(
                    f"{url}/v1/datasets/bench/big/versions?format=csv",
                    headers=headers,
                    content=f,
                    timeout=7200,
                )
            secs = time.perf_counter() - t
            r.raise_for_status()
            print(f"ingested {n:,} records over HTTP in {secs:.0f} s ({n / secs:,.0f} records/s)")
        finally:
            proc.terminate()
            proc.wait(120)
    marker.write_text("ok\n")


def run_wrk(port: int, n: int, duration: int, connections: int) -> str:
    script = Path(tempfile.mkdtemp()) / "keys.lua"
    script.write_text(
        "math.randomseed(os.time())\n"
        "request = function()\n"
        f"  local k = math.random(0, {n - 1})\n"
        '  return wrk.format("GET", "/v1/datasets/bench/big/versions/1/proof?key=TKN" .. k)\n'
        "end\n"
    )
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: `make bench-service` installs it (apt-get install wrk)")
    out = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def bench_http_ingest(port: int, data_dir: Path, n: int) -> float:
    path = data_dir / "upload-1m.csv"
    write_csv(path, n, prefix="UP")
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {ADMIN}"}
    name = f"bench/upload-{int(time.time())}"
    httpx.post(
        f"{url}/v1/datasets",
        headers=headers,
        timeout=60,
        json={"name": name, "key": ["symbol"], "signingKey": "dev-source"},
    )
    t = time.perf_counter()
    with path.open("rb") as f:
        r = httpx.post(
            f"{url}/v1/datasets/{name}/versions?format=csv", headers=headers, content=f, timeout=3600
        )
    secs = time.perf_counter() - t
    r.raise_for_status()
    path.unlink()
    return n / secs


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".cache" / "bench-service")
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--upload", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="API processes for the proof load")
    args = parser.parse_args()
    port = free_port()
    ensure_big_snapshot(args.data_dir, args.records, port)
    proc = start(args.data_dir, port, args.workers)
    try:
        # Warm-up: each API process fills its caches of the tree's upper levels; the data file
        # is read into the OS page cache by a first pass of proofs (wrk --latency runs after).
        run_wrk(port, args.records, 10, args.connections)
        print(
            f"\nproofs of a {args.records:,}-record snapshot, random keys, wrk -t2 -c{args.connections} "
            f"-d{args.duration}s ({args.workers} API process(es), SQLite, {os.cpu_count()} cores shared "
            "with wrk), after a 10 s warm-up:"
        )
        print(run_wrk(port, args.records, args.duration, args.connections))
        if args.upload:
            rate = bench_http_ingest(port, args.data_dir, args.upload)
            print(f"ingest over HTTP: {args.upload:,}-record CSV upload at {rate:,.0f} records/s end to end")
    finally:
        proc.terminate()
        proc.wait(120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
