"""#11 concurrency: worker processes racing for the anchoring leader lock, released at once by a
barrier — exactly one wins every race, on PostgreSQL (advisory lock) and SQLite (flock); a leader
killed with SIGKILL releases it to the next."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from provenance.server.store.database import Database
from provenance.server.store.leader import leader_lock

RACERS = 6
ROUNDS = 15


def _race(url: str, lock_file: Path, barrier: Any, results: Any, rounds: int) -> None:
    db = Database(url)  # each process its own engine and connections, as separate services
    try:
        for r in range(rounds):
            barrier.wait()
            with leader_lock(db, lock_file) as won:
                results.put((r, os.getpid(), won))
                barrier.wait()  # everyone has tried while the winner still holds it
    finally:
        db.close()


def _urls(request: pytest.FixtureRequest, tmp_path: Path, which: str) -> str:
    if which == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    db = Database(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    db.close()
    return f"sqlite:///{tmp_path / 'l.sqlite3'}"


@pytest.mark.parametrize("which", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def test_exactly_one_of_six_racing_workers_leads_every_round(
    request: pytest.FixtureRequest, tmp_path: Path, which: str
) -> None:
    url = _urls(request, tmp_path, which)
    ctx = multiprocessing.get_context("spawn")  # clean processes, no inherited connections
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(url, tmp_path / "anchoring.lock", barrier, results, ROUNDS))
        for _ in range(RACERS)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in range(RACERS * ROUNDS)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    for r in range(ROUNDS):
        winners = [pid for rr, pid, won in outcomes if rr == r and won]
        assert len(winners) == 1, f"round {r}: {len(winners)} leaders"
    assert len({pid for _, pid, won in outcomes if won}) >= 1


def _hold(url: str, lock_file: Path, ready: Any) -> None:
    db = Database(url)
    with leader_lock(db, lock_file) as won:
        ready.put(won)
        time.sleep(600)  # until killed


@pytest.mark.parametrize("which", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def test_a_killed_leader_releases_the_lock(
    request: pytest.FixtureRequest, tmp_path: Path, which: str
) -> None:
    url = _urls(request, tmp_path, which)
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    holder = ctx.Process(target=_hold, args=(url, tmp_path / "anchoring.lock", ready))
    holder.start()
    assert ready.get(timeout=60) is True
    db = Database(url)
    try:
        with leader_lock(db, tmp_path / "anchoring.lock") as won:
            assert not won  # held by the other process
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(30)
        deadline = time.monotonic() + 30  # PostgreSQL ends the dead session's lock
        won = False
        while not won and time.monotonic() < deadline:
            with leader_lock(db, tmp_path / "anchoring.lock") as won:
                pass
            time.sleep(0.1)
        assert won
    finally:
        db.close()
