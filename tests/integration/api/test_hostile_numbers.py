"""#11 defect 2: versions beyond the store's 64-bit integers answered 500 (SQLite overflow) and
reset the connection. Each is a 4xx problem now, and nothing is stored damaged."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from provenance.server.bootstrap import SAMPLE_DATASET
from tests.integration.api.test_routers import PROOF, problem

BIG = [2**63, 2**64, 10**30]
BASE = f"/v1/datasets/{SAMPLE_DATASET}"


@pytest.mark.parametrize("n", BIG)
def test_a_huge_version_in_a_path_is_a_422(client: TestClient, n: int) -> None:
    for path in (f"/versions/{n}", f"/versions/{n}/proof?key=BTC,2026-11-27", f"/versions/{n}/snapshot-proof",
                 f"/versions/{n}/records", f"/versions/{n}/lineage", f"/consistency?from=1&to={n}",
                 f"/consistency?from={n}&to={n}"):  # fmt: skip
        problem(client.get(BASE + path), 422, "request.invalid")
    problem(client.get(f"/v1/log/consistency?from=1&to={n}"), 422, "input.bad-range")  # the ledger's rule


def test_a_bundle_naming_a_huge_version_gets_a_verdict_not_a_500(client: TestClient) -> None:
    bundle = client.get(PROOF, params={"key": "BTC,2026-11-27"}).json()["bundle"]
    doc = copy.deepcopy(bundle)
    doc["record"]["version"] = 2**63
    answer = client.post("/v1/verify?offline=true", json=doc)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "invalid"
    row = client.get("/v1/verifications", params={"after": answer.json()["requestId"] - 1}).json()[0]
    assert row["version"] is None and row["dataset"] == SAMPLE_DATASET  # stored, not overflowed
    assert client.get("/healthz").status_code == 200
