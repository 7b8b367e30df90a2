"""Proof latency on the multi-process layout, PostgreSQL beside SQLite, against concurrent
connections and against snapshot size; a PNG plot for docs/.

    .venv/bin/python scripts/bench_load.py [--duration 8] [--connections 1,4,16,64]
                                           [--sizes 1000,100000,1000000] [--plot docs/load.png]

For each store, `provenance serve --workers 3` (three API processes on one port, one
leader-locked anchoring worker, a managed anvil) gets one dataset per size (CSV over HTTP). Then
`wrk -t2` (another process on the same 2 cores) asks proofs of random records: of the largest
snapshot at each connection count, and of each snapshot at 16 connections. Prints p50/p99 and
requests/s of every run; writes the plot with matplotlib (`make bench-load` installs it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_service import ADMIN, EXE, wait_ready, write_csv
from deployment import fresh_schema

from provenance.chain.backends import free_port

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def start(data_dir: Path, port: int, database_url: str | None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PROVENANCE_DATA_DIR": str(data_dir),
        "PROVENANCE_PORT": str(port),
        "PROVENANCE_CHAIN_BACKEND": "anvil",
        "PROVENANCE_ANVIL_PORT": str(free_port()),
        "PROVENANCE_KEY_PASSWORD": "bench-password-1",
        "PROVENANCE_ADMIN_TOKEN": ADMIN,
        "PROVENANCE_LOAD_SAMPLE": "false",
    }
    if database_url:
        env["PROVENANCE_DATABASE_URL"] = database_url
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "serve.log").open("ab")
    proc = subprocess.Popen([str(EXE), "serve", "--workers", "3"], env=env, stdout=log, stderr=log)
    return wait_ready(proc, port, data_dir / "serve.log")


def load(url: str, size: int, work: Path) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    name = f"bench/n{size}"
    spec = {"name": name, "key": ["symbol"], "signingKey": "dev-source"}
    httpx.post(f"{url}/v1/datasets", headers=headers, json=spec, timeout=60).raise_for_status()
    path = work / f"n{size}.csv"
    if not path.exists():
        write_csv(path, size)
    t = time.perf_counter()
    with path.open("rb") as f:
        r = httpx.post(
            f"{url}/v1/datasets/{name}/versions?format=csv", headers=headers, content=f, timeout=3600
        )
    r.raise_for_status()
    print(f"  loaded {size:,} records in {time.perf_counter() - t:.1f} s", flush=True)


def wrk(port: int, size: int, duration: int, connections: int) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "keys.lua"
    script.write_text(
        "math.randomseed(os.time())\n"
        "request = function()\n"
        f"  local k = math.random(0, {size - 1})\n"
        f'  return wrk.format("GET", "/v1/datasets/bench/n{size}/versions/1/proof?key=TKN" .. k)\n'
        "end\n"
    )
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk not found: `make bench-load` installs it (apt-get install wrk)")
    threads = min(2, connections)
    command = [exe, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors under load:\n{out}")
    return {
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)),  # the latency distribution
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)),
        "rps": float(re.search(r"Requests/sec:\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
    }


def _ms(match: re.Match[str] | None) -> float:
    assert match is not None
    value = match.group(1)
    number = float(re.sub(r"[a-z]+$", "", value))
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0}[re.sub(r"^[\d.]+", "", value)]


def _line(r: dict[str, float]) -> str:
    return f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['rps']:,.0f} req/s"


def bench_store(store: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    port = free_port()
    database_url = fresh_schema(POSTGRES) if store == "postgresql" else None
    proc = start(work / f"data-{store}-{uuid.uuid4().hex[:6]}", port, database_url)
    results: dict[str, Any] = {"connections": {}, "sizes": {}}
    try:
        url = f"http://127.0.0.1:{port}"
        for size in args.sizes:
            load(url, size, work)
        largest = max(args.sizes)
        wrk(port, largest, 3, 8)  # warm-up
        for c in args.connections:
            r = results["connections"][c] = wrk(port, largest, args.duration, c)
            print(f"  {store} n={largest:,} c={c}: {_line(r)}", flush=True)
        for size in args.sizes:
            r = results["sizes"][size] = wrk(port, size, args.duration, 16)
            print(f"  {store} n={size:,} c=16: {_line(r)}", flush=True)
    finally:
        proc.terminate()
        proc.wait(120)
    return results


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for store, r in results.items():
        cs = sorted(r["connections"])
        left.plot(cs, [r["connections"][c]["p50"] for c in cs], marker="o", label=f"{store} p50")
        left.plot(
            cs, [r["connections"][c]["p99"] for c in cs], marker="x", linestyle="--", label=f"{store} p99"
        )
        ns = sorted(r["sizes"])
        right.plot(ns, [r["sizes"][n]["p50"] for n in ns], marker="o", label=f"{store} p50")
        right.plot(ns, [r["sizes"][n]["p99"] for n in ns], marker="x", linestyle="--", label=f"{store} p99")
    left.set(xscale="log", xlabel="concurrent connections (largest snapshot)", ylabel="proof latency (ms)")
    right.set(xscale="log", xlabel="records in the snapshot (16 connections)", ylabel="proof latency (ms)")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Proof latency, 3 API processes + leader-locked worker, 2 cores (wrk on the same cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", default="1,4,16,64")
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--plot", type=Path, default=Path("docs/load.png"))
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    args.sizes = [int(n) for n in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        results = {store: bench_store(store, args, Path(tmp)) for store in args.stores.split(",")}
    plot(results, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
