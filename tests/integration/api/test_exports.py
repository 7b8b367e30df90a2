"""A version handed out whole: its snapshot proof, its records, and its records with proofs."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import merkle
from provenance.errors import FormatError
from provenance.proofs import bundle, collection, snapshot
from provenance.proofs.collection_stream import verify_stream
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


# --- a published version, verified as a stream --------------------------------------------------


def _published(client: TestClient) -> list[bytes]:
    return client.get(f"{VERSION}/records", params={"with_proofs": "true"}).content.splitlines()


def test_a_published_version_verifies_whole(client: TestClient) -> None:
    lines = _published(client)
    verdict = verify_stream(lines, policy=Policy(offline=True))
    assert verdict.status == "valid", verdict.to_json()
    assert verdict.records == verdict.records_valid == len(lines) - 1


def test_a_changed_record_fails_the_rebuilt_root(client: TestClient) -> None:
    lines = _published(client)
    rec = json.loads(lines[2])
    rec["entry"]["record"]["price_usd"] = 1.5
    lines[2] = json.dumps(rec).encode()
    verdict = verify_stream(lines, policy=Policy(offline=True)).to_json()
    assert verdict["status"] == "invalid"
    assert [f["reason"] for f in verdict["failures"]] == ["inclusion.root-mismatch"]


def test_a_wrong_path_is_named_by_its_record(client: TestClient) -> None:
    lines = _published(client)
    rec = json.loads(lines[3])
    rec["inclusionPath"][0] = "0x" + "00" * 32
    lines[3] = json.dumps(rec).encode()
    verdict = verify_stream(lines, policy=Policy(offline=True))
    assert [(f.reason, f.where) for f in verdict.failures] == [
        ("inclusion.bad-path", f"{SAMPLE_DATASET}@1 key {json.dumps(rec['key'], separators=(',', ':'))}")
    ]
    assert verdict.records_valid == verdict.records - 1


def test_a_cut_off_file_is_reported(client: TestClient) -> None:
    lines = _published(client)[:-1]
    verdict = verify_stream(lines, policy=Policy(offline=True))
    assert [f.reason for f in verdict.failures] == ["collection.truncated-file", "collection.not-whole"]
    assert verdict.records_valid == 0 and verdict.status == "invalid"


def test_part_of_a_snapshot_is_verified_path_by_path(client: TestClient) -> None:
    lines = _published(client)
    header = json.loads(lines[0])
    header["recordCount"] = 2
    part = [json.dumps(header).encode(), lines[3], lines[1]]  # two records, out of order
    verdict = verify_stream(part, policy=Policy(offline=True))
    assert verdict.status == "valid" and verdict.records_valid == 2, verdict.to_json()
    rec = json.loads(lines[1])
    rec["inclusionPath"] = rec["inclusionPath"][:-1]
    verdict = verify_stream([part[0], part[1], json.dumps(rec).encode()], policy=Policy(offline=True))
    assert verdict.records_valid == 1 and verdict.failures[0].reason.startswith("proof.")
    with pytest.raises(FormatError):
        verify_stream([b"not json"], policy=Policy(offline=True))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_flipped_character_in_a_record_line_fails(client: TestClient, data: st.DataObject) -> None:
    lines = _published(client)
    row = data.draw(st.integers(1, len(lines) - 1))
    at = data.draw(st.integers(0, len(lines[row]) - 1))
    old = lines[row][at : at + 1]
    new = data.draw(st.sampled_from([c for c in b"0123456789abcdefx" if bytes([c]) != old]))
    lines[row] = lines[row][:at] + bytes([new]) + lines[row][at + 1 :]
    try:
        json.loads(lines[row])
    except ValueError:
        pass  # not JSON any more: a bad record
    else:
        if json.loads(lines[row]) == json.loads(_published(client)[row]):
            return  # e.g. a digit in an equivalent spelling: nothing changed
    assert verify_stream(lines, policy=Policy(offline=True)).status == "invalid"
