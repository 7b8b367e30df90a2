"""Lineage exports: W3C PROV-JSON (checked against the PROV-JSON schema, since the prov package
validates nothing) and OpenLineage run events (checked against the OpenLineage spec's shapes)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from prov.model import ProvDocument

from provenance.exports.openlineage import CUSTOM_FACET, run_events, to_openlineage
from provenance.exports.prov import to_prov
from tests import factories as f
from tests.vectors import VECTORS

SCHEMA = json.loads((VECTORS / "prov" / "prov-json.schema.json").read_text())
LINE = f.lineage()
DOC = f.lineage_collection(LINE, 0)


def test_prov_json_is_valid_and_reads_back() -> None:
    doc = to_prov(DOC)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)
    back = ProvDocument.deserialize(content=json.dumps(doc), format="json")
    assert len(list(back.get_records())) == len(
        list(ProvDocument.deserialize(content=json.dumps(doc), format="json").get_records())
    )


def test_prov_json_holds_the_lineage_and_its_hashes() -> None:
    doc = to_prov(DOC)
    snap = doc["entity"]["pl:snapshot/tm/ratings/daily@12"]
    assert snap["pl:root"] == LINE.ratings.manifest.to_json()["root"]
    assert doc["activity"]["pl:transform/tm/ratings/daily@12"]["pl:code"] == f.TRANSFORM["code"]
    used = [u["prov:entity"] for u in doc["used"].values()]
    assert used == ["pl:snapshot/tm/prices/daily@41"]
    derived = {(d["prov:generatedEntity"], d["prov:usedEntity"]) for d in doc["wasDerivedFrom"].values()}
    rating = next(k for k in doc["entity"] if k.startswith("pl:record/tm/ratings/daily@12/"))
    prices = {k for k in doc["entity"] if k.startswith("pl:record/tm/prices/daily@41/")}
    assert derived == {(rating, p) for p in prices} and len(prices) == 2


def test_a_broken_prov_document_fails_the_schema() -> None:
    doc = to_prov(DOC)
    doc["wasDerivedFrom"] = {"_:d": {"prov:usedEntity": "pl:x"}}  # no generatedEntity
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert list(validator.iter_errors(doc))


def test_openlineage_events_carry_versions_schema_lineage_and_the_anchor_facet() -> None:
    events = to_openlineage(DOC)
    assert [e["outputs"][0]["name"] for e in events] == ["tm/ratings/daily", "tm/prices/daily"]
    rating: dict[str, Any] = events[0]
    assert rating["eventType"] == "COMPLETE" and rating["job"]["name"] == "ratings"
    assert [i["name"] for i in rating["inputs"]] == ["tm/prices/daily"]
    facets = rating["outputs"][0]["facets"]
    assert facets["version"]["datasetVersion"] == "12"
    assert [x["name"] for x in facets["schema"]["fields"]] == ["symbol", "grade"]
    assert facets["lineage"]["inputs"][0]["name"] == "tm/prices/daily"
    custom = facets[CUSTOM_FACET]
    assert custom["root"] == LINE.ratings.manifest.to_json()["root"]
    assert len(custom["records"]) == 1 and len(custom["records"][0]["derivedFrom"]) == 2
    assert events[1]["inputs"] == [] and events[1]["job"]["name"] == "publish/tm/prices/daily"
    for e in events:  # what every OpenLineage consumer needs
        assert {"eventTime", "producer", "schemaURL", "run", "job"} <= set(e)
        assert e["run"]["runId"].count("-") == 4


def test_openlineage_events_go_through_a_file_transport(tmp_path: Any) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    path = tmp_path / "events.jsonl"
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(path), append=True)))
    for event in run_events(DOC):
        client.emit(event)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["job"]["name"] == "ratings"
    assert json.loads(lines[0])["outputs"] == to_openlineage(DOC)[0]["outputs"]  # the client adds run tags


def test_the_cli_exports_a_collection_file(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from provenance.cli import app

    path = tmp_path / "lineage.json"
    path.write_text(json.dumps(DOC))
    runner = CliRunner()
    prov = runner.invoke(app, ["export-lineage", str(path), "--format", "prov"])
    assert prov.exit_code == 0, prov.output
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(prov.output))
    ol = runner.invoke(app, ["export-lineage", str(path), "--format", "openlineage"])
    assert ol.exit_code == 0 and [json.loads(x)["job"]["name"] for x in ol.output.splitlines()] == [
        "ratings",
        "publish/tm/prices/daily",
    ]
    bad = runner.invoke(app, ["export-lineage", str(path), "--format", "dot"])
    assert bad.exit_code == 2 and "error [input.bad-option]" in bad.output
