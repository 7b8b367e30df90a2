"""A real `provenance serve` process on 127.0.0.1, talked to over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from provenance.chain.backends import free_port

EXE = Path(sys.executable).parent / "provenance"
ADMIN = {"Authorization": "Bearer test-admin-token-123"}


@dataclass
class Server:
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    args: tuple[str, ...] = ()  # more `provenance serve` options, e.g. ("--workers", "3")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Server:
        self.log = self.data_dir.parent / f"serve-{self.port}-{int(time.time() * 1000)}.log"
        env = {
            **os.environ,
            **self.env,
            "PROVENANCE_DATA_DIR": str(self.data_dir),
            "PROVENANCE_PORT": str(self.port),
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(EXE), "serve", *self.args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"serve did not become ready:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=120, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.put(self.url + path, timeout=120, **kw)

    def wait_for(self, path: str, predicate: Any, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        body: Any = None
        while time.monotonic() < deadline:
            r = self.get(path)
            body = r.json()
            if r.status_code == 200 and predicate(body):
                return body
            time.sleep(0.2)
        raise AssertionError(f"{path} never satisfied the condition; last: {body}")


def base_env(backend: str) -> dict[str, str]:
    return {
        "PROVENANCE_CHAIN_BACKEND": backend,
        "PROVENANCE_ANVIL_PORT": str(free_port()),
        "PROVENANCE_CHECKPOINT_INTERVAL": "0.3",
        "PROVENANCE_WORKER_POLL": "0.1",
        "PROVENANCE_KEY_PASSWORD": "test-key-password",
        "PROVENANCE_ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer "),
        "PROVENANCE_STALE_BUILD_SECONDS": "2",
    }


@pytest.fixture(scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.chain)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("serve") / "data", base_env(request.param)).start()
    yield s
    s.stop()


@pytest.fixture(scope="package")
def shared_anvil_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One service on anvil for the modules that only add datasets of their own to it (check,
    retraction, quality): a start costs 3-7 s, and the suite's budget is 15 minutes."""
    s = Server(tmp_path_factory.mktemp("shared") / "data", base_env("anvil")).start()
    yield s
    s.stop()


def fsck_report(server: Server, *args: str) -> dict[str, Any]:
    """``provenance fsck --json`` on the server's ledger (its data directory and database), which
    must exit 0: the store agrees with its signatures (and, given ``--rpc-url``, the chain)."""
    env = {
        **os.environ,
        "PROVENANCE_DATA_DIR": str(server.data_dir),
        "PROVENANCE_KEY_PASSWORD": server.env["PROVENANCE_KEY_PASSWORD"],
    }
    if "PROVENANCE_DATABASE_URL" in server.env:
        env["PROVENANCE_DATABASE_URL"] = server.env["PROVENANCE_DATABASE_URL"]
    done = subprocess.run(
        [str(EXE), "fsck", *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def proof_when_anchored(server: Server, dataset: str, version: int, key: str) -> dict[str, Any]:
    path = f"/v1/datasets/{dataset}/versions/{version}/proof?key={key}"
    return server.wait_for(path, lambda b: b["anchor"]["state"] in ("mined", "confirmed"))
