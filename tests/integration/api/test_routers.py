"""Each router, in process: what it answers, and the problem details of its refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from provenance.server.bootstrap import SAMPLE_DATASET, Service
from tests.integration.api.conftest import ADMIN

PROOF = f"/v1/datasets/{SAMPLE_DATASET}/versions/1/proof"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


# --- health --------------------------------------------------------------------------------------


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["chain"].startswith("ok, block ")
    metrics = client.get("/metrics").text
    assert "provenance_log_size" in metrics and "provenance_anchors" in metrics


# --- datasets --------------------------------------------------------------------------------------


def test_datasets_versions_and_a_proof(client: TestClient) -> None:
    names = [d["name"] for d in client.get("/v1/datasets").json()]
    assert SAMPLE_DATASET in names
    version = client.get(f"/v1/datasets/{SAMPLE_DATASET}/versions/1").json()
    assert version["dataset"] == SAMPLE_DATASET and version["root"].startswith("0x")
    assert version["manifest"]["manifest"]["root"] == version["root"]
    listed = client.get(f"/v1/datasets/{SAMPLE_DATASET}/versions").json()
    assert [v["version"] for v in listed] == [1] and listed[0]["root"] == version["root"]
    body = client.get(PROOF, params={"key": "BTC,2026-11-27"}).json()
    assert body["bundle"]["format"] == "provenance-proof/v1"
    assert body["bundle"]["record"]["key"] == ["BTC", "2026-11-27"]


def test_creating_a_dataset_needs_the_admin_token(client: TestClient) -> None:
    spec = {"name": "t/routers/a", "key": ["id"], "columns": {"v": "integer"}}
    problem(client.post("/v1/datasets", json=spec), 401, "auth.required")
    problem(
        client.post("/v1/datasets", json=spec, headers={"Authorization": "Bearer nope"}),
        403,
        "auth.forbidden",
    )
    created = client.post("/v1/datasets", json={**spec, "signingKey": "dev-source"}, headers=ADMIN)
    assert created.status_code == 201
    assert created.json()["name"] == "t/routers/a" and created.json()["signedBy"] == "server"


def test_upload_then_the_same_upload_again(client: TestClient, csv_file: Any) -> None:
    spec = {"name": "t/routers/up", "key": ["id"], "signingKey": "dev-source"}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    url = "/v1/datasets/t/routers/up/versions?format=csv"
    problem(client.post(url, content=csv_file.read_bytes()), 401, "auth.required")
    first = client.post(url, content=csv_file.read_bytes(), headers=ADMIN)
    assert first.status_code == 201 and first.json()["created"] is True and first.json()["size"] == 2
    again = client.post(
        "/v1/datasets/t/routers/up/versions?format=csv&version=1",
        content=csv_file.read_bytes(),
        headers=ADMIN,
    )
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["root"] == first.json()["root"]


def test_dataset_refusals(client: TestClient) -> None:
    problem(client.get("/v1/datasets/no/such"), 404, "dataset.not-found")
    problem(client.get(PROOF, params={"key": "NOPE,2026-11-27"}), 404, "record.not-found")
    problem(
        client.get(f"/v1/datasets/{SAMPLE_DATASET}/consistency", params={"from": 2, "to": 1}),
        422,
        "input.bad-range",
    )
    problem(client.post("/v1/datasets", json={"name": "x"}, headers=ADMIN), 422, "request.invalid")
    empty = client.post(f"/v1/datasets/{SAMPLE_DATASET}/versions?format=csv", content=b"", headers=ADMIN)
    problem(empty, 422, "input.empty")


# --- verify --------------------------------------------------------------------------------------


def test_verify_a_served_bundle_and_refuse_garbage(client: TestClient) -> None:
    bundle = client.get(PROOF, params={"key": "BTC,2026-11-27"}).json()["bundle"]
    verdict = client.post("/v1/verify?offline=true", json=bundle).json()
    assert verdict["status"] == "valid" and isinstance(verdict["requestId"], int)
    problem(client.post("/v1/verify", content=b"{not json"), 422, "bundle.malformed")


# --- sources -------------------------------------------------------------------------------------


def test_sources_register_list_and_revoke(client: TestClient) -> None:
    address = "0x" + "ab" * 20
    problem(client.post("/v1/sources", json={"address": address, "name": "p"}), 401, "auth.required")
    created = client.post("/v1/sources", json={"address": address, "name": "p"}, headers=ADMIN)
    assert created.status_code == 201 and created.json()["status"] == "active"
    assert address.lower() in [s["address"].lower() for s in client.get("/v1/sources").json()]
    problem(client.delete("/v1/sources/0x12", headers=ADMIN), 422, "input.bad-address")
    revoked = client.delete(f"/v1/sources/{address}", headers=ADMIN)
    assert revoked.json()["status"] == "revoked"


# --- anchoring -----------------------------------------------------------------------------------


def test_anchors_checkpoints_log_and_deployment(client: TestClient, service: Service) -> None:
    checkpoints = client.get("/v1/checkpoints").json()
    assert checkpoints and checkpoints[0]["size"] >= 1
    latest = client.get("/v1/checkpoints/latest").json()
    assert latest["size"] == checkpoints[0]["size"] and latest["logKey"] == service.ledger.log_key()
    assert any(a["kind"] == "checkpoint" for a in client.get("/v1/anchors").json())
    proof = client.get("/v1/log/consistency", params={"from": 1, "to": latest["size"]}).json()
    assert proof["to"]["root"] == latest["root"]
    problem(client.get("/v1/log/consistency", params={"from": 0, "to": 1}), 422, "input.bad-range")
    assert client.get("/v1/deployment").json()["address"] == service.deployment.address


# --- probe findings (#11 "Also") ----------------------------------------------------------------


@pytest.mark.parametrize(("n", "scheme"), list(enumerate(["bearer", "BEARER", "Bearer", "bEaReR"])))
def test_the_bearer_scheme_is_case_insensitive(client: TestClient, n: int, scheme: str) -> None:
    token = ADMIN["Authorization"].split(" ", 1)[1]
    spec = {"name": f"t/routers/scheme-{n}", "key": ["id"], "signingKey": "dev-source"}
    created = client.post("/v1/datasets", json=spec, headers={"Authorization": f"{scheme} {token}"})
    assert created.status_code == 201, created.text
    problem(
        client.post("/v1/datasets", json=spec, headers={"Authorization": f"{scheme} nope"}),
        403,
        "auth.forbidden",
    )
    problem(
        client.post("/v1/datasets", json=spec, headers={"Authorization": f"Basic {token}"}),
        401,
        "auth.required",
    )


def test_the_zero_address_is_not_a_source(client: TestClient) -> None:
    zero = "0x" + "00" * 20
    body = problem(
        client.post("/v1/sources", json={"address": zero, "name": "z"}, headers=ADMIN),
        422,
        "input.bad-address",
    )
    assert body["detail"] == "the zero address cannot be a source: no key signs for it"
    assert zero not in [s["address"].lower() for s in client.get("/v1/sources").json()]
