"""The audit console's bar: a bundle from a 10,000,000-record snapshot verifies in headless
Chromium in < 300 ms, chain reads against anvil included.

Run with `make bench-console`. Builds a 10M-record CSV snapshot with the CLI, signs it, anchors
it directly on a local anvil node, proves one record, serves the console with
`provenance serve` on the same anvil, and opens `/audit#bundle=...` in Debian's chromium
(Playwright) several times; prints each verification's time as the page measured it
(performance.now() around the verifier, chain reads included) beside the Python verifier's
time on the same bundle and chain.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_check import EXE, cli, prepare  # noqa: E402

from provenance.chain.backends import ANVIL_DEV_KEYS, AnvilNode, free_port  # noqa: E402


def serve(work: Path, env: dict[str, str], anvil_port: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**env, "PROVENANCE_PORT": str(port), "PROVENANCE_DATA_DIR": str(work / "serve"),
           "PROVENANCE_RPC_URL": f"http://127.0.0.1:{anvil_port}", "PROVENANCE_CHAIN_BACKEND": "rpc",
           "PROVENANCE_CHAIN_PRIVATE_KEY": ANVIL_DEV_KEYS[0]}  # fmt: skip
    proc = subprocess.Popen([EXE, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import urllib.request

    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("serve did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    env = {**os.environ, "PROVENANCE_DATA_DIR": str(work / "data-dir"), "PROVENANCE_KEY_PASSWORD": "bench-pw"}
    node = AnvilNode(log_file=work / "anvil.log")
    node.start()
    try:
        _, _, build_s, _ = prepare(work, args.records, env, node.url)
        middle = args.records // 2  # write_csv's keys: TKN<i>, 2026-11-<i % 28 + 1>
        key = f"TKN{middle},2026-11-{middle % 28 + 1:02d}"
        doc = json.loads(cli(env, "prove", str(work / "snap"), "--key", key))
        (work / "bundle.json").write_text(json.dumps(doc))
        started = time.perf_counter()
        verdict = json.loads(cli(env, "verify", str(work / "bundle.json"), "--rpc-url", node.url, "--json"))
        python_s = time.perf_counter() - started
        server, url = serve(work, env, node.port)
        try:
            times = browser_runs(url, node.url, doc, args.runs)
        finally:
            server.terminate()
            server.wait(30)
    finally:
        node.stop()
    print(
        f"console, a bundle from a {args.records:,}-record snapshot"
        f" ({len(doc['record']['inclusionPath'])}-hash path; built in {build_s:.0f} s),"
        " Debian chromium headless, anvil on 127.0.0.1:"
    )
    print(
        f"  in the browser: {' '.join(f'{t:.0f}' for t in times)} ms;"
        f" median {statistics.median(times):.0f} ms   [bar: < 300 ms]"
    )
    print(
        f"  peer: `provenance verify --rpc-url` on the same bundle: {python_s * 1000:.0f} ms end to end"
        f" (process start included), verdict {verdict['status']}"
    )
    return 0


def browser_runs(url: str, rpc_url: str, doc: dict[str, object], runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    fragment = "#bundle=" + base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(runs):
            page = browser.new_page()
            page.goto(f"{url}/audit{fragment}")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            status = page.get_attribute("#verdict", "data-status")
            if status != "valid":
                raise SystemExit(f"the console's verdict: {status}")
            out.append(float(page.get_attribute("#verdict", "data-ms") or "nan"))
            page.close()
        browser.close()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
