"""The HTTP routers in process: FastAPI's TestClient over a ledger on SQLite or PostgreSQL and the
embedded chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from provenance.config import Settings
from provenance.server.bootstrap import Service, open_service

TOKEN = "test-admin-token-123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The same routers on both stores (SQLite under the data directory, or PostgreSQL)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = Settings(
        database_url=url,
        data_dir=tmp_path_factory.mktemp("api"),
        chain_backend="embedded",
        key_password="test-password-1",
        admin_token=TOKEN,
        checkpoint_interval=0.01,
    )
    svc = open_service(settings)
    svc.worker.step()  # register the development source on the chain and anchor the sample
    svc.worker.step()
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service.ledger), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    path.write_text("id,v\na,1\nb,2\n")
    return path
