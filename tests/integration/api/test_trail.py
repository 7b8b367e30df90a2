"""The audit trail: every verification, by the service or in an auditor's browser, listed and
filtered, as JSON or CSV."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from provenance.server.bootstrap import SAMPLE_DATASET, Service
from tests.integration.api.test_routers import PROOF, problem


def test_service_and_console_verifications_are_listed(client: TestClient) -> None:
    start = client.get("/v1/verifications", params={"limit": 10_000}).json()
    after = start[-1]["id"] if start else 0
    bundle = client.get(PROOF, params={"key": "BTC,2026-11-27"}).json()["bundle"]
    served = client.post("/v1/verify?offline=true", json=bundle).json()
    console = {
        "bundleSha256": "0x" + "ab" * 32,
        "status": "invalid",
        "dataset": SAMPLE_DATASET,
        "version": 1,
        "checks": [{"check": "inclusion", "status": "invalid", "reason": "proof.root-mismatch"}],
    }
    posted = client.post("/v1/verifications", json=console)
    assert posted.status_code == 201, posted.text
    rows = client.get("/v1/verifications", params={"after": after}).json()
    assert [r["id"] for r in rows] == [served["requestId"], posted.json()["requestId"]]
    assert rows[0]["status"] == "valid" and rows[0]["dataset"] == SAMPLE_DATASET
    assert rows[1]["checks"] == console["checks"] and rows[1]["bundleSha256"] == console["bundleSha256"]
    assert client.get("/v1/verifications", params={"after": after, "dataset": "no/such"}).json() == []
    text = client.get("/v1/verifications", params={"after": after, "format": "csv"}).text
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:5] == ["id", "time", "dataset", "version", "status"]
    assert table[2][-1] == "inclusion=proof.root-mismatch" and len(table) == 3


def test_a_console_verdict_is_checked_at_the_door(client: TestClient) -> None:
    good = {"bundleSha256": "0x" + "00" * 32, "status": "valid"}
    problem(client.post("/v1/verifications", json={**good, "status": "great"}), 422, "request.invalid")
    problem(client.post("/v1/verifications", json={**good, "bundleSha256": "0x12"}), 422, "request.invalid")
    problem(client.post("/v1/verifications", json={**good, "extra": 1}), 422, "request.invalid")
    many = [{"check": "c", "status": "valid"}] * 65
    problem(client.post("/v1/verifications", json={**good, "checks": many}), 422, "request.invalid")
    problem(client.get("/v1/verifications", params={"limit": 0}), 422, "request.invalid")


def test_the_trail_is_itself_an_anchored_dataset_that_only_grows(
    client: TestClient, service: Service
) -> None:
    from provenance.merkle import verify_consistency
    from provenance.server.trail import AUDIT_DATASET

    def verify_one() -> None:
        bundle = client.get(PROOF, params={"key": "BTC,2026-11-27"}).json()["bundle"]
        assert client.post("/v1/verify?offline=true", json=bundle).status_code == 200

    verify_one()
    service.worker.audit_interval = 0  # the worker snapshots the trail on its next step
    service.worker.step()
    versions = client.get(f"/v1/datasets/{AUDIT_DATASET}/versions").json()
    assert versions, "the worker made no audit snapshot"
    first = max(versions, key=lambda v: v["version"])
    trail = client.get("/v1/verifications", params={"limit": 10_000}).json()
    assert first["size"] == len(trail)
    assert service.ledger.snapshot_audit_trail() is None  # nothing new: no new version
    verify_one()
    service.worker.step()
    second = max(client.get(f"/v1/datasets/{AUDIT_DATASET}/versions").json(), key=lambda v: v["version"])
    assert second["version"] == first["version"] + 1 and second["size"] == first["size"] + 1
    proof = client.get(
        f"/v1/datasets/{AUDIT_DATASET}/consistency",
        params={"from": first["version"], "to": second["version"]},
    ).json()
    verify_consistency(
        first["size"],
        second["size"],
        bytes.fromhex(first["root"][2:]),
        bytes.fromhex(second["root"][2:]),
        [bytes.fromhex(h[2:]) for h in proof["proof"]],
    )  # nobody changed an earlier auditor's record: the new version only appended
    last = trail[-1]
    record = client.get(
        f"/v1/datasets/{AUDIT_DATASET}/versions/{second['version']}/proof", params={"key": str(last["id"])}
    ).json()["bundle"]["record"]["entry"]["record"]
    assert (record["bundleSha256"], record["status"]) == (last["bundleSha256"], last["status"])
    service.worker.audit_interval = 3600.0
