"""Proof latency on `make run`'s defaults (one API process, SQLite, a managed anvil node, the
anchoring worker), idle and while a 1,000,000-record CSV upload runs.

    .venv/bin/python scripts/bench_tail.py [--duration 15] [--connections 4,8,32]

For each connection count: `wrk -t2` (Debian's package, another process on the same 2 cores)
requests the sample dataset's proof for --duration seconds after a 5 s warm-up; then the same
while a new 1M-record version is uploaded (wrk starts 1 s after the upload and stops before it
ends). Prints p50, p99 and requests/s of each run, and the upload's records/s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_service import ADMIN, EXE, wait_ready, write_csv

from provenance.chain.backends import free_port

PROOF = "/v1/datasets/examples/token-ratings/versions/1/proof?key=BTC,2026-11-27"


def wrk(url: str, duration: int, connections: int) -> tuple[float, float, float]:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk not found: apt-get install wrk (make bench-service installs it)")
    out = subprocess.run(
        [exe, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return _ms(out, "50%"), _ms(out, "99%"), float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]


def _ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def start(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PROVENANCE_DATA_DIR": str(folder / "data"),
        "PROVENANCE_PORT": str(port),
        "PROVENANCE_ANVIL_PORT": str(free_port()),
        "PROVENANCE_ADMIN_TOKEN": ADMIN,
    }
    log = (folder / "serve.log").open("ab")
    proc = subprocess.Popen([str(EXE), "serve"], env=env, stdout=log, stderr=log)
    return wait_ready(proc, port, folder / "serve.log")


def upload(url: str, name: str, data: Path, out: list[float]) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    spec = {"name": name, "key": ["symbol"], "signingKey": "dev-source"}
    httpx.post(f"{url}/v1/datasets", json=spec, headers=headers, timeout=60).raise_for_status()
    start = time.perf_counter()
    with data.open("rb") as body:
        r = httpx.post(
            f"{url}/v1/datasets/{name}/versions?format=csv", content=body, headers=headers, timeout=600
        )
    r.raise_for_status()
    out.append(time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", default="4,8,32")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-tail-"))
    data = folder / "upload.csv"
    write_csv(data, 1_000_000)
    port = free_port()
    proc = start(folder, port)
    url = f"http://127.0.0.1:{port}"
    print("proofs of the sample dataset on `make run`'s defaults (1 API process, SQLite, anvil, worker)")
    print(f"{'connections':>11} | {'idle p50':>9} {'p99':>8} {'req/s':>7} | ", end="")
    print(f"{'upload p50':>10} {'p99':>8} {'req/s':>7}")
    try:
        for i, c in enumerate(int(x) for x in args.connections.split(",")):
            wrk(url + PROOF, 5, c)  # warm-up
            idle = wrk(url + PROOF, args.duration, c)
            took: list[float] = []
            t = threading.Thread(target=upload, args=(url, f"bench/tail{i}", data, took))
            t.start()
            time.sleep(1)
            busy = wrk(url + PROOF, 7, c)  # within the upload (~9-10 s here)
            t.join()
            print(
                f"{c:>11} | {idle[0]:>7.1f}ms {idle[1]:>6.1f}ms {idle[2]:>7.0f} | "
                f"{busy[0]:>8.1f}ms {busy[1]:>6.1f}ms {busy[2]:>7.0f}"
                f"   (upload: {1e6 / took[0]:,.0f} records/s)"
            )
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
