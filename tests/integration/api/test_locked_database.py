"""#11 faults: the database locked by another process (SQLite, an exclusive transaction held by
someone else) — an upload waits out the busy timeout, then gets a 503 problem that says when to
retry; reads keep being served; nothing half-written is left, and the retry succeeds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from provenance.config import Settings
from provenance.server.bootstrap import SAMPLE_DATASET, open_service

pytestmark = pytest.mark.slow  # the 30 s busy timeout runs out once
TOKEN = "test-admin-token-123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def test_a_locked_database_is_a_503_to_retry_and_damages_nothing(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, chain_backend="embedded", key_password="test-password-1", admin_token=TOKEN
    )
    service = open_service(settings)
    try:
        client = TestClient(create_app(service.ledger), raise_server_exceptions=False)
        spec = {"name": "t/locked", "key": ["id"], "signingKey": "dev-source"}
        assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
        other = sqlite3.connect(tmp_path / "ledger.sqlite3", timeout=1)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            r = client.post(
                "/v1/datasets/t/locked/versions?format=csv", content=b"id,v\na,1\n", headers=ADMIN
            )
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "storage.unavailable" and r.headers["retry-after"] == "5"
            assert "locked" in r.json()["detail"] and str(tmp_path) not in r.json()["detail"]
            proof = client.get(
                f"/v1/datasets/{SAMPLE_DATASET}/versions/1/proof", params={"key": "BTC,2026-11-27"}
            )
            assert proof.status_code == 200  # readers are not blocked
        finally:
            other.rollback()
            other.close()
        assert client.get("/v1/datasets/t/locked/versions").json() == []  # nothing half-written
        retry = client.post(
            "/v1/datasets/t/locked/versions?format=csv", content=b"id,v\na,1\n", headers=ADMIN
        )
        assert retry.status_code == 201 and retry.json()["version"] == 1, retry.text
    finally:
        service.close()
