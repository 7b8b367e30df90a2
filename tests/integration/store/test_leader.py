"""One anchoring worker per database: the leader lock on PostgreSQL (advisory) and SQLite (flock)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from provenance.server.store.database import Database
from provenance.server.worker import leader


def fake_ledger(db: Database, data_dir: Path) -> object:
    return SimpleNamespace(db=db, settings=SimpleNamespace(data_dir=data_dir))


@pytest.mark.postgres
def test_postgres_advisory_lock_admits_one_leader(postgres_url: str, tmp_path: Path) -> None:
    a, b = Database(postgres_url), Database(postgres_url)  # two service processes' engines
    try:
        with leader(fake_ledger(a, tmp_path)) as first:  # type: ignore[arg-type]
            assert first
            with leader(fake_ledger(b, tmp_path)) as second:  # type: ignore[arg-type]
                assert not second
        with leader(fake_ledger(b, tmp_path)) as after:  # released with the first leader
            assert after
    finally:
        a.close()
        b.close()


def test_sqlite_file_lock_admits_one_leader(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    try:
        with leader(fake_ledger(db, tmp_path)) as first:  # type: ignore[arg-type]
            assert first
            with leader(fake_ledger(db, tmp_path)) as second:  # type: ignore[arg-type]
                assert not second
    finally:
        db.close()
