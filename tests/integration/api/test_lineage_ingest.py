"""Derived uploads over HTTP: parents by name@version, the transform, record refs pinned to
upstream leaves — and every refusal, named."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from provenance.datasets import dataset_id
from provenance.merkle import hash_leaf
from provenance.proofs import bundle
from provenance.proofs.verify import Policy, verify_bundle
from provenance.records.canonical import canonical
from provenance.server.bootstrap import Service
from tests.integration.api.conftest import ADMIN

PRICES = "symbol,date,close\nBTC,2026-11-27,97000\nETH,2026-11-27,3610\nBTC,2026-11-26,95000\n"
TRANSFORM = {"name": "ratings", "code": "git:" + "1" * 40, "params": {"window": 2}}


def header(doc: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def ref(symbol: str, date: str, version: int = 1) -> dict[str, Any]:
    return {"dataset": "t/lin/prices", "version": version, "key": [symbol, date]}


@pytest.fixture(scope="module")
def datasets(client: TestClient) -> None:
    for spec in (
        {"name": "t/lin/prices", "key": ["symbol", "date"], "signingKey": "dev-source"},
        {"name": "t/lin/other", "key": ["symbol", "date"], "signingKey": "dev-source"},
        {
            "name": "t/lin/ratings",
            "key": ["symbol"],
            "derivedFrom": "_derived_from",
            "signingKey": "dev-source",
        },
    ):
        assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    for name in ("t/lin/prices", "t/lin/other"):
        up = client.post(f"/v1/datasets/{name}/versions?format=csv", content=PRICES.encode(), headers=ADMIN)
        assert up.status_code == 201, up.text
    assert upload(client, jsonl(RATINGS)).status_code == 201  # t/lin/ratings v1, which the tests read


def upload(
    client: TestClient, body: bytes, parents: str = "t/lin/prices@1", transform: Any = TRANSFORM
) -> Any:
    headers = {**ADMIN, "Content-Type": "application/x-ndjson"}
    if transform is not None:
        headers["Provenance-Transform"] = header(transform)
    return client.post(
        f"/v1/datasets/t/lin/ratings/versions?parents={parents}", content=body, headers=headers
    )


RATINGS = [
    {"symbol": "BTC", "grade": 81, "_derived_from": [ref("BTC", "2026-11-27"), ref("BTC", "2026-11-26")]},
    {"symbol": "ETH", "grade": 64, "_derived_from": [ref("ETH", "2026-11-27")]},
]


def test_a_derived_upload_pins_each_ref_to_the_upstream_leaf(client: TestClient, datasets: None) -> None:
    up = upload(client, jsonl(RATINGS))
    assert up.status_code == 201, up.text
    version = up.json()["version"]
    manifest = client.get(f"/v1/datasets/t/lin/ratings/versions/{version}").json()["manifest"]["manifest"]
    prices_root = client.get("/v1/datasets/t/lin/prices/versions/1").json()["root"]
    assert [(p["dataset"], p["version"], p["root"]) for p in manifest["parents"]] == [
        ("t/lin/prices", 1, prices_root)
    ]
    assert manifest["transform"] == TRANSFORM
    rating = client.get(f"/v1/datasets/t/lin/ratings/versions/{version}/proof", params={"key": "BTC"}).json()[
        "bundle"
    ]
    refs = rating["record"]["entry"]["derived_from"]
    assert [r["key"] for r in refs] == [["BTC", "2026-11-26"], ["BTC", "2026-11-27"]]
    for r in refs:
        price = client.get(
            "/v1/datasets/t/lin/prices/versions/1/proof", params={"key": ",".join(r["key"])}
        ).json()
        assert r["leaf"] == "0x" + hash_leaf(canonical(price["bundle"]["record"]["entry"])).hex()
    # the same upload again is the same version (idempotent), the refs pinned the same way
    again = upload(client, jsonl(RATINGS)).json() if False else None
    assert again is None
    same = client.post(
        f"/v1/datasets/t/lin/ratings/versions?version={version}",
        content=jsonl(RATINGS),
        headers={**ADMIN, "Content-Type": "application/x-ndjson"},
    )
    assert same.status_code == 200 and same.json()["root"] == up.json()["root"]


def test_the_edge_verifies_and_a_tampered_pin_names_it(client: TestClient, datasets: None) -> None:
    version = client.get("/v1/datasets/t/lin/ratings/versions").json()[0]["version"]
    rating = client.get(f"/v1/datasets/t/lin/ratings/versions/{version}/proof", params={"key": "ETH"}).json()[
        "bundle"
    ]
    price = client.get("/v1/datasets/t/lin/prices/versions/1/proof", params={"key": "ETH,2026-11-27"}).json()[
        "bundle"
    ]
    doc = {**rating, "upstream": [price]}
    offline = Policy(offline=True)
    verdict = verify_bundle(bundle.parse(json.dumps(doc)), policy=offline)
    assert verdict.check("lineage").status.value == "valid", verdict.to_json()
    other = client.get("/v1/datasets/t/lin/other/versions/1/proof", params={"key": "ETH,2026-11-27"}).json()[
        "bundle"
    ]
    swapped = {**rating, "upstream": [{**other, "record": {**other["record"], "dataset": "t/lin/prices"}}]}
    check = verify_bundle(bundle.parse(json.dumps(swapped)), policy=offline).check("lineage")
    assert check.status.value == "invalid"
    tampered = copy.deepcopy(price)
    tampered["record"]["entry"]["record"]["close"] = "1"
    check = verify_bundle(bundle.parse(json.dumps({**rating, "upstream": [tampered]})), policy=offline).check(
        "lineage"
    )
    assert (check.status.value, check.reason) == ("invalid", "lineage.leaf-mismatch")


@pytest.mark.parametrize(
    ("rows", "parents", "transform", "status", "code", "words"),
    [
        (RATINGS, "t/lin/prices@9", TRANSFORM, 404, "lineage.unknown-parent", "parent t/lin/prices@9"),
        (RATINGS, "t/lin/nope@1", TRANSFORM, 404, "lineage.unknown-parent", "parent t/lin/nope@1"),
        (RATINGS, "t/lin/prices", TRANSFORM, 422, "input.bad-parent", "must be name@version"),
        (RATINGS, "t/lin/prices@1", {**TRANSFORM, "code": "v2"}, 422, "lineage.bad-transform-code", "'v2'"),
        (RATINGS, "t/lin/prices@1", None, 422, "manifest.bad-transform", "must name its transform"),
        (
            [RATINGS[0], {"symbol": "SOL", "grade": 1, "_derived_from": [ref("SOL", "2026-11-27")]}],
            "t/lin/prices@1",
            TRANSFORM,
            422,
            "lineage.unknown-key",
            'line 2, column _derived_from: ref t/lin/prices@1 key ["SOL","2026-11-27"]',
        ),
        (
            [{**RATINGS[0], "_derived_from": [{**ref("BTC", "2026-11-27"), "dataset": "t/lin/other"}]}],
            "t/lin/prices@1",
            TRANSFORM,
            422,
            "lineage.not-a-parent",
            "line 1, column _derived_from: ref t/lin/other@1",
        ),
    ],
)
def test_refusals_name_what_is_wrong_and_store_nothing(
    client: TestClient,
    datasets: None,
    rows: Any,
    parents: str,
    transform: Any,
    status: int,
    code: str,
    words: str,
) -> None:
    before = client.get("/v1/datasets/t/lin/ratings/versions").json()
    r = upload(client, jsonl(rows), parents, transform)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and words in r.json()["detail"], r.json()["detail"]
    assert "/" + "tmp" not in r.json()["detail"]
    assert client.get("/v1/datasets/t/lin/ratings/versions").json() == before


def test_snapshot_lineage_up_and_down(client: TestClient, datasets: None) -> None:
    version = client.get("/v1/datasets/t/lin/ratings/versions").json()[0]["version"]
    up = client.get(f"/v1/datasets/t/lin/ratings/versions/{version}/lineage").json()
    assert [n["id"] for n in up["nodes"]] == [f"t/lin/ratings@{version}", "t/lin/prices@1"]
    assert up["edges"] == [{"child": f"t/lin/ratings@{version}", "parent": "t/lin/prices@1"}]
    assert up["nodes"][0]["transform"] == TRANSFORM and up["truncated"] is False
    down = client.get(
        "/v1/datasets/t/lin/prices/versions/1/lineage", params={"direction": "down", "depth": 3}
    ).json()
    versions = [v["version"] for v in client.get("/v1/datasets/t/lin/ratings/versions").json()]
    assert [n["id"] for n in down["nodes"]] == ["t/lin/prices@1", *(f"t/lin/ratings@{v}" for v in versions)]
    assert up["edges"][0] in down["edges"]  # (child, parent) whichever way it was walked
    other = client.get("/v1/datasets/t/lin/other/versions/1/lineage", params={"direction": "down"}).json()
    assert [n["id"] for n in other["nodes"]] == ["t/lin/other@1"] and other["edges"] == []
    deep = client.get("/v1/datasets/t/lin/prices/versions/1/lineage", params={"depth": 17})
    assert deep.status_code == 422 and deep.json()["code"] == "lineage.depth-limit"


def lineage_of(client: TestClient, key: str = "BTC", depth: int = 1) -> dict[str, Any]:
    version = client.get("/v1/datasets/t/lin/ratings/versions").json()[0]["version"]
    r = client.get(
        f"/v1/datasets/t/lin/ratings/versions/{version}/lineage/records", params={"key": key, "depth": depth}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_datums_lineage_is_one_collection_that_verifies_edge_by_edge(
    client: TestClient, datasets: None
) -> None:
    doc = lineage_of(client)
    assert doc["format"] == "provenance-proofs/v1" and doc["root"] == 0 and doc["depth"] == 1
    assert [(s["dataset"], s["version"]) for s in doc["snapshots"]] == [
        ("t/lin/ratings", 1),
        ("t/lin/prices", 1),
    ]
    assert [r["key"] for r in doc["records"]] == [["BTC"], ["BTC", "2026-11-26"], ["BTC", "2026-11-27"]]
    verdict = client.post("/v1/verify?offline=true", json=doc).json()
    assert verdict["status"] == "valid", json.dumps(verdict, indent=1)
    assert verdict["records"] == {"count": 3, "valid": 3}
    assert verdict["edges"] == {"count": 2, "valid": 2, "outside": 0}
    # any record cut out is a standalone bundle that verifies
    from provenance.proofs.collection import cut_out, from_json

    one = cut_out(from_json(doc), 2)
    assert client.post("/v1/verify?offline=true", json=one).json()["status"] == "valid"


def test_tampered_lineage_names_the_edge(client: TestClient, datasets: None) -> None:
    doc = lineage_of(client)
    changed = copy.deepcopy(doc)
    changed["records"][1]["entry"]["record"]["close"] = "1"
    verdict = client.post("/v1/verify?offline=true", json=changed).json()
    assert verdict["status"] == "invalid"
    wheres = {(f["where"], f["reason"]) for f in verdict["failures"]}
    assert ('t/lin/prices@1 key ["BTC","2026-11-26"]', "inclusion.root-mismatch") in wheres or any(
        w.startswith('t/lin/prices@1 key ["BTC","2026-11-26"]') for w, _ in wheres
    )
    edge = 't/lin/ratings@1 key ["BTC"] -> t/lin/prices@1 key ["BTC","2026-11-26"]'
    assert (edge, "lineage.leaf-mismatch") in wheres, verdict["failures"]
    missing = copy.deepcopy(doc)
    del missing["records"][2]
    verdict = client.post("/v1/verify?offline=true", json=missing).json()
    edge = 't/lin/ratings@1 key ["BTC"] -> t/lin/prices@1 key ["BTC","2026-11-27"]'
    assert verdict["status"] == "invalid"
    assert [(f["where"], f["reason"]) for f in verdict["failures"]] == [(edge, "lineage.missing-upstream")]
    problem = client.post("/v1/verify", json={**doc, "records": [{**doc["records"][0], "snapshot": 7}]})
    assert problem.status_code == 422 and problem.json()["code"] == "collection.malformed"


def test_lineage_depth_limit(client: TestClient, datasets: None) -> None:
    version = client.get("/v1/datasets/t/lin/ratings/versions").json()[0]["version"]
    r = client.get(
        f"/v1/datasets/t/lin/ratings/versions/{version}/lineage/records", params={"key": "BTC", "depth": 99}
    )
    assert r.status_code == 422 and r.json()["code"] == "lineage.depth-limit"


def test_the_cli_verifies_a_lineage_collection_and_cuts_a_record_out(
    client: TestClient, datasets: None, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from provenance.cli import app

    doc = lineage_of(client)
    good, bad = tmp_path / "lineage.json", tmp_path / "bad.json"
    good.write_text(json.dumps(doc))
    tampered = copy.deepcopy(doc)
    tampered["records"][0]["entry"]["derived_from"][0]["leaf"] = "0x" + "00" * 32
    bad.write_text(json.dumps(tampered))
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", str(good), "--offline"])
    assert ok.exit_code == 0, ok.output
    assert "records: 3 of 3 valid; lineage edges: 2 of 2 valid" in ok.output
    failed = runner.invoke(app, ["verify", str(bad), "--offline"])
    assert failed.exit_code == 1, failed.output
    assert 't/lin/ratings@1 key ["BTC"] -> t/lin/prices@1 key ["BTC","2026-11-26"]' in failed.output
    cut = runner.invoke(app, ["cut", str(good), "--index", "1"])
    assert cut.exit_code == 0, cut.output
    (tmp_path / "one.json").write_text(cut.output)
    one = runner.invoke(app, ["verify", str(tmp_path / "one.json"), "--offline", "--json"])
    assert one.exit_code == 0 and json.loads(one.output)["status"] == "valid"
    assert runner.invoke(app, ["cut", str(good), "--index", "9"]).exit_code == 2


def test_the_lineage_as_prov_and_openlineage(client: TestClient, datasets: None) -> None:
    version = client.get("/v1/datasets/t/lin/ratings/versions").json()[0]["version"]
    url = f"/v1/datasets/t/lin/ratings/versions/{version}/lineage/records"
    prov = client.get(url, params={"key": "BTC", "format": "prov"}).json()
    assert set(prov) >= {"prefix", "entity", "activity", "wasDerivedFrom", "used"}
    events = client.get(url, params={"key": "BTC", "format": "openlineage"}).json()
    assert [e["outputs"][0]["name"] for e in events] == ["t/lin/ratings", "t/lin/prices"]


def test_downstream_which_records_cite_this_datum(client: TestClient, datasets: None) -> None:
    url = "/v1/datasets/t/lin/prices/versions/1/lineage/records"
    doc = client.get(url, params={"key": "BTC,2026-11-27", "direction": "down"}).json()
    snaps = doc["snapshots"]
    assert doc["root"] == 0 and doc["records"][0]["key"] == ["BTC", "2026-11-27"]
    citing = [(snaps[r["snapshot"]]["dataset"], r["key"]) for r in doc["records"][1:]]
    versions = client.get("/v1/datasets/t/lin/ratings/versions").json()
    assert citing and all(c == ("t/lin/ratings", ["BTC"]) for c in citing)
    assert len(citing) == len(versions)  # every ratings version's BTC rating cites this price
    verdict = client.post("/v1/verify?offline=true", json=doc).json()
    assert verdict["status"] == "valid", verdict
    assert verdict["edges"]["valid"] == len(citing)  # each citing record's edge to the datum
    other = "/v1/datasets/t/lin/other/versions/1/lineage/records"
    none = client.get(other, params={"key": "ETH,2026-11-27", "direction": "down"}).json()
    assert len(none["records"]) == 1  # nothing derives from t/lin/other: only the datum


def test_a_parent_retracted_by_its_source_is_refused_by_name(client: TestClient, service: Service) -> None:
    """#9: a retracted parent is refused. Retraction is on-chain, by the snapshot's source (here by
    its own transaction; a checkpoint-mode parent: tests/integration/http/test_retraction.py)."""
    spec = {
        "name": "t/lin/direct",
        "key": ["symbol", "date"],
        "signingKey": "dev-source",
        "anchorMode": "direct",
    }
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    for body in (PRICES, PRICES + "SOL,2026-11-27,240\n"):  # v1, which is retracted, and v2, which is not
        up = client.post(
            "/v1/datasets/t/lin/direct/versions?format=csv", content=body.encode(), headers=ADMIN
        )
        assert up.status_code == 201, up.text
    for _ in range(3):
        service.worker.step()  # anchor both directly
    source = Account.from_key(service.ledger.intake.source_key("dev-source"))
    service.client.tx.transfer(service.account, source.address, 10**18)  # gas for the source's own call
    service.client.retract(dataset_id("t/lin/direct"), 1, b"\x07" * 32, source)
    assert service.client.snapshot_of(dataset_id("t/lin/direct"), 1).retracted  # type: ignore[union-attr]

    before = client.get("/v1/datasets/t/lin/ratings/versions").json()
    rows = [
        {
            "symbol": "BTC",
            "grade": 1,
            "_derived_from": [ref("BTC", "2026-11-27") | {"dataset": "t/lin/direct"}],
        }
    ]
    r = upload(client, jsonl(rows), "t/lin/direct@1")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "lineage.retracted-parent"
    assert r.json()["detail"] == "parent t/lin/direct@1 was retracted by its source"
    assert client.get("/v1/datasets/t/lin/ratings/versions").json() == before
    rows[0]["_derived_from"][0]["version"] = 2  # the next version, not retracted, is a parent like any other
    ok = upload(client, jsonl(rows), "t/lin/direct@2")
    assert ok.status_code == 201, ok.text
