"""Rules in the signed schema: what parses, what is refused (and why), the normal form that is
hashed, and v1 schemas and manifests unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provenance.errors import FormatError
from provenance.manifest import Manifest
from provenance.quality.evaluate import check_runnable
from provenance.quality.report import QualitySummary
from provenance.quality.rules import Rule, parse_rules
from provenance.records.schema import Schema
from tests import factories

GOLDEN = Path(__file__).resolve().parents[2] / "vectors" / "bundles" / "v1"
V2 = {"format": "provenance-schema/v2", "key": ["symbol"], "columns": {}, "salted": False}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"column": "p", "minimum": "0"}, "minimum must be a finite number"),
        ({"column": "p", "minimum": True}, "minimum must be a finite number"),
        ({"column": "p", "minimum": 2**53}, "minimum must be a finite number"),
        ({"column": "p", "enum": []}, "enum must be a list of 1 to 1000 values"),
        ({"column": "p", "enum": [{}]}, "enum values must be strings, numbers or booleans"),
        ({"column": "p", "pattern": ""}, "pattern must be an RE2 regular expression"),
        ({"column": "p", "type": "float"}, "type must be one of string, integer"),
        ({"column": "p", "required": 1}, "required takes true"),
        ({"column": "d", "freshness": {"maxAge": -1}}, "freshness must be"),
        ({"rowCount": {"min": 5, "max": 1}}, "rowCount min is above its max"),
        ({"rowCount": {}}, "rowCount must be"),
        ({"rowCount": {"min": 1}, "column": "p"}, "rowCount is a rule of the dataset"),
        ({"referential": True, "level": "warn"}, "referential can only be an error rule"),
        ({"column": "p", "minimum": 0, "maximum": 1}, "a rule has exactly one constraint"),
        ({"column": "p"}, "a rule has exactly one constraint"),
        ({"minimum": 0}, "minimum needs a column"),
        ({"column": "p", "minimum": 0, "level": "info"}, "level must be error or warn"),
        (["p", "minimum"], "a rule must be an object"),
    ],
)
def test_a_bad_rule_is_refused_saying_why(rule: Any, message: str) -> None:
    with pytest.raises(FormatError) as e:
        Rule.from_json(rule)
    assert e.value.code == "schema.invalid"
    assert message in e.value.message


def test_rules_against_the_schema() -> None:
    with pytest.raises(FormatError, match="referential needs a schema with derivedFrom"):
        parse_rules([{"referential": True}], derived_from=None)
    with pytest.raises(FormatError, match="the refs field 'refs' is not a column"):
        parse_rules([{"column": "refs", "required": True}], derived_from="refs")
    with pytest.raises(FormatError, match=r"a rule repeats: p\.minimum"):
        parse_rules([{"column": "p", "minimum": 0}, {"column": "p", "minimum": 1}], derived_from=None)
    with pytest.raises(FormatError, match="rules must be a list of 1 to 64 rules"):
        parse_rules([], derived_from=None)


def test_the_normal_form_is_sorted_with_levels_written() -> None:
    given = [
        {"column": "z", "required": True},
        {"rowCount": {"min": 1}, "level": "warn"},
        {"column": "a", "minimum": 0},
    ]
    schema = Schema.from_json({**V2, "rules": given})
    assert [r.id for r in schema.rules] == ["a.minimum", "rowCount", "z.required"]
    assert schema.to_json()["rules"][0] == {"column": "a", "minimum": 0, "level": "error"}
    again = Schema.from_json({**V2, "rules": list(reversed(given))})
    assert again.hash() == schema.hash()  # the order written does not change the hash


def test_formats_say_whether_there_are_rules() -> None:
    with pytest.raises(FormatError, match="and only they, have rules"):
        Schema.from_json({**V2})
    with pytest.raises(FormatError, match="and only they, have rules"):
        Schema.from_json(
            {**V2, "format": "provenance-schema/v1", "rules": [{"column": "p", "required": True}]}
        )
    plain = Schema(("symbol",))
    assert plain.to_json()["format"] == "provenance-schema/v1"
    assert "rules" not in plain.to_json()


def test_v1_manifests_and_bundles_are_unchanged() -> None:
    """A schema without rules hashes as before, so every v1 golden bundle keeps its signature."""
    for name in ("plain-with-log", "salted-with-log", "plain-no-log"):
        raw = json.loads((GOLDEN / f"{name}.json").read_text())["manifest"]["manifest"]
        assert raw["format"] == "provenance-manifest/v1"
        m = Manifest.from_json(raw)
        assert m.quality is None and m.schema_hash == Schema.from_json(raw["schema"]).hash()


def test_a_v2_manifest_commits_to_schema_and_quality() -> None:
    snap = factories.snapshot(rules=factories.QUALITY_RULES)
    m = snap.manifest
    assert m.format == "provenance-manifest/v2" and m.quality is not None
    assert m.schema_hash != m.schema.hash()
    assert Manifest.from_json(m.to_json()) == m
    other = QualitySummary(m.quality.report, ())  # the same report claimed to pass
    assert Manifest(**{**m.__dict__, "quality": other}).digest(factories.DOMAIN) != m.digest(factories.DOMAIN)
    with pytest.raises(FormatError, match="exactly when its schema has rules"):
        Manifest(**{**m.__dict__, "quality": None})
    doc = m.to_json()
    doc["quality"]["failedRules"] = ["z", "a"]
    with pytest.raises(FormatError, match="sorted and unique"):
        Manifest.from_json(doc)


def test_a_pattern_re2_cannot_run_is_refused_where_rules_run() -> None:
    rules = parse_rules([{"column": "p", "pattern": "(a)\\1"}], derived_from=None)  # a backreference
    with pytest.raises(FormatError, match=r"p.pattern: RE2 cannot run the pattern") as e:
        check_runnable(rules)
    assert e.value.code == "schema.invalid"
    check_runnable(parse_rules([{"column": "p", "pattern": "[A-Z]{2,5}"}], derived_from=None))
