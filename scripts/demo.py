"""End-to-end example on the sample data shipped in the package, run by `make run`.

Builds a snapshot of provenance/examples/token-ratings.csv, signs its manifest with a
development source key, writes a proof bundle for one record and verifies it — every step
through the `provenance` command, printed as it runs so it can be copied.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "provenance"
SAMPLE = ROOT / "provenance" / "examples" / "token-ratings.csv"
DEV_PASSWORD = "development-only-password"


def run(*args: str, env: dict[str, str], capture: bool = False) -> str:
    print("$ provenance " + " ".join(shlex.quote(a) for a in args), flush=True)
    proc = subprocess.run([str(EXE), *args], env=env, text=True, capture_output=capture, check=False)
    if proc.returncode != 0:
        if capture:
            sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    return proc.stdout if capture else ""


def main() -> int:
    data = Path(os.environ.get("PROVENANCE_DATA_DIR", ROOT / ".data"))
    env = {**os.environ, "PROVENANCE_DATA_DIR": str(data)}
    if "PROVENANCE_KEY_PASSWORD" not in env:
        env["PROVENANCE_KEY_PASSWORD"] = DEV_PASSWORD
        print(f"(development key password: PROVENANCE_KEY_PASSWORD={DEV_PASSWORD!r}; set your own)")
    key = data / "keys" / "demo-source.json"
    if not key.exists():
        run("keys", "new", "--name", "demo-source", env=env)
    snap = data / "demo" / "token-ratings-v1"
    shutil.rmtree(snap, ignore_errors=True)
    snap.parent.mkdir(parents=True, exist_ok=True)
    run(
        "snapshot",
        "build",
        str(SAMPLE),
        "--dataset",
        "tm/ratings/daily",
        "--key",
        "symbol,date",
        "--types",
        "price_usd=number,trader_grade=number,investor_grade=number,market_cap_usd=integer",
        "--out",
        str(snap),
        env=env,
    )
    run("snapshot", "sign", str(snap), "--source-key", str(key), env=env)
    bundle = run("prove", str(snap), "--key", "BTC,2026-11-27", env=env, capture=True)
    path = data / "demo" / "btc-proof.json"
    path.write_text(bundle)
    print(f"(bundle written to {path})")
    run("verify", "--offline", str(path), env=env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
