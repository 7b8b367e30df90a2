"""#11 defect 10: dataset names whose path segments a client could normalise away (``.``,
``..``, empty) reach another dataset; they are refused where a dataset is created."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.conftest import ADMIN
from tests.integration.api.test_routers import problem

BAD = ["probe/../probe/a", "probe/./a", "probe//a", "probe/a/", "probe/..", "probe/a/."]


@pytest.mark.parametrize("name", BAD)
def test_a_name_with_a_dot_or_empty_segment_is_refused(client: TestClient, name: str) -> None:
    body = problem(
        client.post(
            "/v1/datasets", json={"name": name, "key": ["id"], "signingKey": "dev-source"}, headers=ADMIN
        ),
        422,
        "dataset.bad-name",
    )
    assert "segment" in body["detail"]


def test_dots_inside_a_segment_are_fine(client: TestClient) -> None:
    spec = {"name": "probe/v1.2/a..b", "key": ["id"], "signingKey": "dev-source"}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
