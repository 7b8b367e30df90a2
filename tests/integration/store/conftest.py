"""One storage suite, two databases: SQLite (WAL file) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.server.store.database import Database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    if request.param == "postgres":
        _truncate(database)
    yield database
    database.close()


def _truncate(database: Database) -> None:
    from sqlalchemy import text

    with database.engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE verification_requests, anchors, log_entries, tree_chunks, record_blocks, "
                "key_index, checkpoints, snapshots, datasets, sources, deployments RESTART IDENTITY CASCADE"
            )
        )
