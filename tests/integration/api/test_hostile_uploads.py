"""#11 defect 8: a refused upload is named as the upload, never by a server path."""

from __future__ import annotations

import tempfile

import pytest
from fastapi.testclient import TestClient

from provenance.server.bootstrap import Service
from tests.integration.api.conftest import ADMIN

BODIES = {
    "duplicate key": ("csv", b"id,v\na,1\na,2\n", "input.duplicate-key"),
    "ragged row": ("csv", b"id,v\na,1,3\n", "input.ragged-row"),
    "invalid utf-8": ("csv", b"id,v\na,\xff\n", "input.invalid-utf8"),
    "missing key column": ("csv", b"x,v\na,1\n", "input.missing-key-column"),
    "malformed json": ("jsonl", b'{"id": 1,\n', "input.malformed"),
    "not parquet": ("parquet", b"PAR1garbage", "input.malformed"),
    "parquet without the key": ("parquet", b"", "input.missing-key-column"),
}


def parquet_without_key() -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table({"x": ["a"]}), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def dataset(client: TestClient) -> str:
    spec = {"name": "t/hostile/up", "key": ["id"], "signingKey": "dev-source"}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    return "/v1/datasets/t/hostile/up/versions"


@pytest.mark.parametrize("case", list(BODIES))
def test_a_refused_upload_names_no_server_path(
    client: TestClient, service: Service, dataset: str, case: str
) -> None:
    fmt, body, code = BODIES[case]
    if case == "parquet without the key":
        body = parquet_without_key()
    answer = client.post(f"{dataset}?format={fmt}", content=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == code
    text = answer.text
    for secret in (str(service.ledger.settings.data_dir), tempfile.gettempdir() + "/", "uploads/tmp"):
        assert secret not in text, f"{case}: {text}"
    assert problem["detail"].startswith("upload"), problem
