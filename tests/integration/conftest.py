"""Services the integration tests talk to for real: PostgreSQL (per-test-module schema)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

POSTGRES = os.environ.get("PROVENANCE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as e:  # the suite must not silently skip PostgreSQL: fail loudly
        pytest.fail(f"PostgreSQL at {POSTGRES} is not reachable ({e}); .ci/run starts one")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
