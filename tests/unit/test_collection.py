"""provenance-proofs/v1: golden collections verify, are produced as-is, and any tampering of an
upstream record, a ref's leaf, a parent root, the transform or a manifest is detected, naming
the edge or the record."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.errors import FormatError
from provenance.proofs import collection
from provenance.proofs.collection_verify import verify_collection
from provenance.proofs.verify import Policy
from tests import factories as f
from tests.vectors import VECTORS

GOLDEN = sorted((VECTORS / "collections").glob("v*/*.json"))
OFFLINE = Policy(offline=True)
LINE = f.lineage()
DOC = f.lineage_collection(LINE, 0)
EDGE = 'tm/ratings/daily@12 key ["BTC"] -> tm/prices/daily@41 key ["BTC","2026-11-2{d}"]'


def verdict(doc: dict[str, Any]) -> Any:
    return verify_collection(collection.from_json(json.loads(json.dumps(doc))), policy=OFFLINE)


def failures(doc: dict[str, Any]) -> set[tuple[str, str]]:
    v = verdict(doc)
    assert v.status == "invalid"
    return {(x.where, x.reason) for x in v.failures}


def test_there_are_golden_collections() -> None:
    assert len(GOLDEN) >= 2


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_golden_collections_verify_offline(path: Any) -> None:
    v = verify_collection(collection.parse(path.read_bytes()), policy=OFFLINE)
    assert v.status == "valid", v.to_json()
    assert v.edges == v.edges_valid == 2 and v.records == v.records_valid == 3


def test_golden_collections_are_what_the_builders_make() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "make_golden", Path(__file__).parents[2] / "scripts" / "make_golden.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.golden_collections().items():
        assert (VECTORS / "collections" / "v1" / name).read_text() == text + "\n", name


def test_every_record_cuts_out_as_a_bundle_that_verifies() -> None:
    from provenance.proofs import bundle
    from provenance.proofs.verify import verify_bundle

    parsed = collection.from_json(DOC)
    for i in range(len(parsed.records)):
        one = bundle.from_json(collection.cut_out(parsed, i))
        checks = verify_bundle(one, policy=OFFLINE)
        assert (
            checks.check("inclusion").status.value == "valid"
            and checks.check("signature").status.value == "valid"
        )


def test_a_tampered_upstream_record_names_the_record_and_the_edge() -> None:
    doc = copy.deepcopy(DOC)
    doc["records"][1]["entry"]["record"]["close"] = 1.0
    found = failures(doc)
    assert ('tm/prices/daily@41 key ["BTC","2026-11-26"]', "proof.root-mismatch") in found
    assert (EDGE.format(d=6), "lineage.leaf-mismatch") in found


def test_a_removed_upstream_record_is_missing_at_its_edge() -> None:
    doc = copy.deepcopy(DOC)
    del doc["records"][2]
    assert failures(doc) == {(EDGE.format(d=7), "lineage.missing-upstream")}


def test_refs_beyond_the_claimed_depth_are_counted_not_failed() -> None:
    doc = copy.deepcopy(DOC)
    doc["depth"] = 0
    del doc["records"][2]
    v = verdict(doc)
    assert v.status == "valid" and v.edges_outside == 1


@pytest.mark.parametrize(
    "change",
    [
        {"records": []},
        {"snapshots": []},
        {"format": "provenance-proofs/v2"},
        {"root": 9},
        {"records": [{"snapshot": 5, "key": ["x"], "entry": {}, "leafIndex": 0, "inclusionPath": []}]},
    ],
)
def test_malformed_collections_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(FormatError) as e:
        collection.from_json({**DOC, **change})
    assert e.value.code in ("collection.malformed", "collection.unsupported")


TAMPERS = ("upstream-record", "ref-leaf", "parent-root", "transform", "upstream-manifest", "child-manifest")


def tamper(doc: dict[str, Any], kind: str, pick: int, value: int) -> str:
    """Apply one tampering; returns the text a failure must name."""
    child = doc["snapshots"][0]["manifest"]["manifest"]
    upstream = doc["snapshots"][1]["manifest"]["manifest"]
    record = doc["records"][1 + pick % 2]
    if kind == "upstream-record":
        record["entry"]["record"]["close"] = value + 0.5
        return "-> tm/prices/daily@41"
    if kind == "ref-leaf":
        ref = doc["records"][0]["entry"]["derived_from"][pick % 2]
        ref["leaf"] = "0x" + f"{value:064x}"[-64:]
        return "tm/ratings/daily@12 key"
    if kind == "parent-root":
        child["parents"][0]["root"] = "0x" + f"{value + 1:064x}"[-64:]
        return "tm/ratings/daily@12"
    if kind == "transform":
        child["transform"]["params"]["window"] = value + 3
        return "tm/ratings/daily@12"
    if kind == "upstream-manifest":
        upstream["createdAt"] = 1764288000 + value + 1
        return "tm/prices/daily@41"
    child["size"] = child["size"] + 1 + value % 5
    return "tm/ratings/daily@12"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TAMPERS), st.integers(0, 1), st.integers(0, 2**40))
def test_any_tampering_is_detected_and_located(kind: str, pick: int, value: int) -> None:
    doc = copy.deepcopy(DOC)
    named = tamper(doc, kind, pick, value)
    v = verdict(doc)
    assert v.status == "invalid", (kind, v.to_json())
    located = [x.where for x in v.failures] + [label for label, sv in v.snapshots if sv.status == "invalid"]
    assert any(named in where for where in located), (kind, named, located)
