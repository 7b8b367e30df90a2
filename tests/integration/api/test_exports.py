"""A version handed out whole: its snapshot proof, its records, and its records with proofs."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.testclient import TestClient

from provenance import merkle
from provenance.proofs import bundle, collection, snapshot
from provenance.proofs.verify import Policy, verify_bundle
from provenance.server.bootstrap import SAMPLE_DATASET
from tests.integration.api.conftest import ADMIN
from tests.integration.api.test_routers import problem

VERSION = f"/v1/datasets/{SAMPLE_DATASET}/versions/1"


def test_snapshot_proof_is_the_bundle_without_its_record(client: TestClient) -> None:
    doc = client.get(f"{VERSION}/snapshot-proof").json()
    proof = snapshot.from_json(doc)
    assert (proof.dataset, proof.version) == (SAMPLE_DATASET, 1)
    verdict = snapshot.verify_snapshot(proof, policy=Policy(offline=True))
    assert verdict.status == "valid", verdict.to_json()
    b = client.get(f"{VERSION}/proof", params={"key": "BTC,2026-11-27"}).json()["bundle"]
    assert snapshot.of_bundle(b) == doc
    problem(
        client.get(f"/v1/datasets/{SAMPLE_DATASET}/versions/99/snapshot-proof"), 404, "snapshot.not-found"
    )


def test_records_stream_recomputes_the_signed_root(client: TestClient) -> None:
    body = client.get(f"{VERSION}/records")
    assert body.status_code == 200 and body.headers["content-type"] == "application/jsonl"
    lines = body.content.splitlines()
    root = merkle.MerkleTree.from_leaf_inputs(lines).root
    signed = client.get(VERSION).json()
    assert "0x" + root.hex() == signed["root"] and len(lines) == signed["size"]
    assert all(orjson.loads(line)["record"] for line in lines)
    problem(client.get(f"/v1/datasets/{SAMPLE_DATASET}/versions/99/records"), 404, "snapshot.not-found")
    problem(client.get("/v1/datasets/no/such/versions/1/records"), 404, "dataset.not-found")


def test_records_with_proofs_cut_out_as_verifying_bundles(client: TestClient) -> None:
    lines = client.get(f"{VERSION}/records", params={"with_proofs": "true"}).content.splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "provenance-proofs/v1" and header["layout"] == "jsonl"
    assert header["recordCount"] == len(lines) - 1
    records = [json.loads(line) for line in lines[1:]]
    doc: dict[str, Any] = {
        "format": "provenance-proofs/v1",
        "snapshots": header["snapshots"],
        "records": records,
    }
    parsed = collection.from_json(doc)
    for i in range(len(records)):
        verdict = verify_bundle(bundle.from_json(collection.cut_out(parsed, i)), policy=Policy(offline=True))
        assert verdict.status == "valid", (i, verdict.to_json())


def test_a_salted_datasets_records_need_the_admin_token(client: TestClient, csv_file: Any) -> None:
    spec = {"name": "t/exports/salted", "key": ["id"], "salted": True, "signingKey": "dev-source"}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    url = "/v1/datasets/t/exports/salted/versions"
    assert client.post(f"{url}?format=csv", content=csv_file.read_bytes(), headers=ADMIN).status_code == 201
    problem(client.get(f"{url}/1/records"), 401, "auth.required")
    lines = client.get(f"{url}/1/records", headers=ADMIN).content.splitlines()
    assert len(lines) == 2 and all("salt" in json.loads(line) for line in lines)
