"""One anchoring worker per database: the leader lock on PostgreSQL (advisory) and SQLite (flock)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.server.store.database import Database
from provenance.server.store.leader import leader_lock


@pytest.mark.postgres
def test_postgres_advisory_lock_admits_one_leader(postgres_url: str, tmp_path: Path) -> None:
    a, b = Database(postgres_url), Database(postgres_url)  # two service processes' engines
    try:
        with leader_lock(a, tmp_path / "anchoring.lock") as first:
            assert first
            with leader_lock(b, tmp_path / "anchoring.lock") as second:
                assert not second
        with leader_lock(b, tmp_path / "anchoring.lock") as after:  # released with the first leader
            assert after
    finally:
        a.close()
        b.close()


def test_sqlite_file_lock_admits_one_leader(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    try:
        with leader_lock(db, tmp_path / "anchoring.lock") as first:
            assert first
            with leader_lock(db, tmp_path / "anchoring.lock") as second:
                assert not second
    finally:
        db.close()
