#!/usr/bin/env python3
"""Lineage benchmark: serving a datum's lineage under load, verifying it, and a derived upload.

    .venv/bin/python scripts/bench_lineage.py [--duration 20] [--connections 8] [--derived 1000000]

1. Starts `provenance serve` (SQLite, embedded chain) on a fresh data directory and publishes the
   demo pipeline into it (48 tokens x 90 days: prices, on-chain metrics, ratings, index).
2. Drives GET .../lineage/records?key=<one index weight>&depth=2 (the weight, its rating, the 8
   price and on-chain records it used: three levels, 11 records) with `wrk` in its own process
   and prints wrk's latency distribution.
3. Times `provenance verify lineage.json --offline` as a whole process (best and median of 5),
   and the verification alone in process.
4. Uploads a source of N records and a derived dataset of N records with one ref each, and
   prints records/s of the derived upload end to end (request start to the 201 response).
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

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_service import ADMIN, EXE, start  # noqa: E402
from demo_pipeline import Api, publish  # noqa: E402

from provenance.chain.backends import free_port  # noqa: E402
from provenance.examples import pipeline  # noqa: E402
from provenance.proofs import collection  # noqa: E402
from provenance.proofs.collection_verify import verify_collection  # noqa: E402
from provenance.proofs.verify import Policy  # noqa: E402


def wrk(url: str, duration: int, connections: int) -> str:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk not found: `make bench-service` installs it (apt-get install wrk)")
    out = subprocess.run(
        [exe, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def time_verify(path: Path, runs: int = 5) -> tuple[float, float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([str(EXE), "verify", str(path), "--offline"], env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - t)
    doc = collection.parse(path.read_bytes())
    t = time.perf_counter()
    assert verify_collection(doc, policy=Policy(offline=True)).status == "valid"
    return min(walls), statistics.median(walls), time.perf_counter() - t


def derived_upload(url: str, n: int, folder: Path) -> float:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    for spec in (
        {"name": "bench/src", "key": ["k"], "signingKey": "dev-source"},
        {"name": "bench/derived", "key": ["id"], "derivedFrom": "_derived_from", "signingKey": "dev-source"},
    ):
        httpx.post(f"{url}/v1/datasets", headers=headers, json=spec, timeout=60).raise_for_status()
    src, derived = folder / "src.csv", folder / "derived.jsonl"
    with src.open("w") as f:
        f.write("k,v\n")
        f.writelines(f"K{i},{i}\n" for i in range(n))
    with derived.open("w") as f:
        f.writelines(
            '{"id":"D' + str(i) + '","score":' + str(i % 100) + ',"_derived_from":'
            '[{"dataset":"bench/src","version":1,"key":["K' + str(i) + '"]}]}\n'
            for i in range(n)
        )
    with src.open("rb") as body:
        httpx.post(
            f"{url}/v1/datasets/bench/src/versions?format=csv", headers=headers, content=body, timeout=3600
        ).raise_for_status()
    transform = {"name": "bench", "code": "git:" + "0" * 40, "params": {}}
    import base64

    h = {**headers, "Provenance-Transform": base64.b64encode(json.dumps(transform).encode()).decode()}
    t = time.perf_counter()
    with derived.open("rb") as body:
        r = httpx.post(
            f"{url}/v1/datasets/bench/derived/versions?format=jsonl&parents=bench/src@1",
            headers=h,
            content=body,
            timeout=3600,
        )
    secs = time.perf_counter() - t
    r.raise_for_status()
    return n / secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--derived", type=int, default=1_000_000)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-lineage-"))
    port = free_port()
    proc = start(folder, port)
    url = f"http://127.0.0.1:{port}"
    try:
        versions, weight = publish(Api(url, ADMIN), 7, 90)
        key = f"{weight['rebalance']},{weight['symbol']}"
        version = versions[pipeline.INDEX]
        path = f"/v1/datasets/{pipeline.INDEX}/versions/{version}/lineage/records?key={key}&depth=2"
        lineage = folder / "lineage.json"
        lineage.write_bytes(httpx.get(url + path, timeout=60).content)
        records = len(json.loads(lineage.read_text())["records"])
        wrk(url + path, 5, args.connections)  # warm-up
        print(
            f"\nlineage of one index weight ({records} records, 3 levels), "
            f"wrk -t2 -c{args.connections} -d{args.duration}s, "
            f"1 API process, SQLite, {os.cpu_count()} cores shared with wrk:"
        )
        print(wrk(url + path, args.duration, args.connections))
        best, median, inproc = time_verify(lineage)
        print(
            f"provenance verify lineage.json --offline: {best:.2f} s best, {median:.2f} s median of 5 "
            f"(whole process); the verification itself {inproc * 1000:.1f} ms"
        )
        if args.derived:
            rate = derived_upload(url, args.derived, folder)
            print(f"derived upload, {args.derived:,} records with one ref each: {rate:,.0f} records/s")
    finally:
        proc.terminate()
        proc.wait(120)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
