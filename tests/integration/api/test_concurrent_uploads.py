"""#11 defect 4: the same next version uploaded by several clients at once: some got 409
snapshot.in-progress without Retry-After. Identical content is idempotent under concurrency:
every caller gets that version."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.api.conftest import ADMIN


def test_identical_concurrent_uploads_all_get_the_version(client: TestClient) -> None:
    spec = {"name": "t/concurrent/same", "key": ["id"], "signingKey": "dev-source"}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    body = ("id,v\n" + "".join(f"k{i},{i}\n" for i in range(60_000))).encode()

    def upload(_: int) -> Any:
        return client.post("/v1/datasets/t/concurrent/same/versions?format=csv", content=body, headers=ADMIN)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(upload, range(4)))
    assert [a.status_code for a in answers].count(201) == 1, [a.text for a in answers]
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert {(a.json()["version"], a.json()["root"]) for a in answers} == {(1, answers[0].json()["root"])}


def test_a_different_concurrent_upload_is_a_conflict_or_the_next_version(client: TestClient) -> None:
    spec = {"name": "t/concurrent/other", "key": ["id"], "signingKey": "dev-source"}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    bodies = [("id,v\n" + "".join(f"k{i},{i + n}\n" for i in range(60_000))).encode() for n in range(2)]

    def upload(body: bytes) -> Any:
        url = "/v1/datasets/t/concurrent/other/versions?format=csv&version=1"
        return client.post(url, content=body, headers=ADMIN)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(upload, bodies))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["code"] in ("snapshot.conflict", "snapshot.in-progress")
    if refused.json()["code"] == "snapshot.in-progress":
        assert refused.headers["Retry-After"] == "1"
