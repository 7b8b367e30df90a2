"""The anchoring leader lock: one worker anchors per database, whatever the number of processes.

PostgreSQL: a session advisory lock on a dedicated connection (released if the process dies).
SQLite: an exclusive ``flock`` on a file beside the data (same guarantee).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from provenance.server.store.database import Database

LEADER_LOCK_KEY = 0x70726F76  # "prov": the PostgreSQL advisory lock of the anchoring worker


@contextlib.contextmanager
def leader_lock(db: Database, lock_file: Path) -> Iterator[bool]:
    """Hold the leadership for the duration of the block; yields whether we got it."""
    if db.is_postgres:
        with _advisory_lock(db) as got:
            yield got
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(db: Database) -> Iterator[bool]:
    conn = db.engine.connect()
    try:
        yield bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LEADER_LOCK_KEY})").scalar())
    finally:
        if not conn.closed:
            with contextlib.suppress(Exception):
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LEADER_LOCK_KEY})")
        conn.close()
