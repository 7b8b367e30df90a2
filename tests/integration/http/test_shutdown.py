"""Stopping the service the way a supervisor does: SIGTERM or SIGINT, to the main process or to
its whole process group (what ``systemctl stop`` sends). It must exit within 10 s and leave no
process behind: not its ingest workers, not its extra API processes, not the anvil node it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.http.conftest import EXE, Server, base_env

pytestmark = [pytest.mark.http, pytest.mark.chain, pytest.mark.slow]


def descendants(pid: int) -> set[int]:
    """Every process under ``pid`` (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def start_in_own_group(tmp_path: Path, workers: int) -> subprocess.Popen[bytes]:
    server = Server(tmp_path / "data", base_env("anvil"))
    env = {**os.environ, **server.env, "PROVENANCE_DATA_DIR": str(server.data_dir)}
    env["PROVENANCE_PORT"] = str(server.port)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(EXE), "serve", "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as under a supervisor
    )
    server.process = proc
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            if server.get("/readyz").status_code == 200:
                break
        except httpx.HTTPError:  # not listening yet
            pass
        time.sleep(0.2)
    # the ingest workers are started in the background at start-up: wait until they are there
    while time.monotonic() < deadline and len(descendants(proc.pid)) < 2 + workers:
        time.sleep(0.2)
    return proc


@pytest.mark.parametrize(
    ("sig", "to_group", "workers"),
    [
        (signal.SIGTERM, True, 1),
        (signal.SIGINT, True, 1),
        (signal.SIGTERM, False, 1),
        (signal.SIGINT, False, 2),
        (signal.SIGTERM, True, 2),
    ],
    ids=["TERM-group", "INT-group", "TERM-main", "INT-main-2-processes", "TERM-group-2-processes"],
)
def test_a_signal_stops_every_process_within_10_s(
    tmp_path: Path, sig: signal.Signals, to_group: bool, workers: int
) -> None:
    proc = start_in_own_group(tmp_path, workers)
    family = descendants(proc.pid)
    try:
        assert len(family) >= 2 + workers, family  # anvil, ingest workers, extra API processes
        started = time.monotonic()
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        proc.wait(10)
        while time.monotonic() - started < 10 and any(alive(p) for p in family):
            time.sleep(0.1)
        left = [p for p in family if alive(p)]
        assert not left, f"still running after {time.monotonic() - started:.1f} s: {left}"
    finally:  # whatever the outcome, nothing of it outlives the test
        for p in [proc.pid, *family]:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        proc.wait()
