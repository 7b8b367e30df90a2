"""#11 defect 9: an error quoted oversized input back whole (a 10,000-hash path came back in a
700 KB 422). What a problem quotes is capped."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient

from tests.integration.api.test_routers import PROOF, problem


def test_a_huge_path_is_refused_without_being_quoted_back(client: TestClient) -> None:
    bundle = client.get(PROOF, params={"key": "BTC,2026-11-27"}).json()["bundle"]
    doc = copy.deepcopy(bundle)
    doc["record"]["inclusionPath"] = ["0x" + "ab" * 32] * 10_000
    answer = client.post("/v1/verify", json=doc)
    body = problem(answer, 422, "bundle.malformed")
    assert len(answer.content) < 4096, len(answer.content)
    assert "inclusionPath" in body["detail"]


def test_a_long_key_in_a_query_is_not_echoed_whole(client: TestClient) -> None:
    answer = client.get(PROOF, params={"key": "X" * 4000 + ",2026-11-27"})
    assert answer.status_code == 404 and len(answer.content) < 2048, len(answer.content)
