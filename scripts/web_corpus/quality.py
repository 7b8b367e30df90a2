"""Variants of the v2 golden bundle (a schema with data-quality rules): rules and quality
summaries edited in the JSON (each must parse, or be refused with the same code, in both
verifiers) and manifests signed again over other rules (so the schema hash of the normal form is
reached with a valid signature)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from provenance.manifest import Manifest, sign
from provenance.quality.report import QualitySummary
from provenance.quality.rules import parse_rules
from provenance.records.schema import Schema
from tests import factories

Doc = dict[str, Any]

# One rule, edited: (name, the rule's JSON). Most are refused (schema.invalid); some are fine.
RULES: list[tuple[str, Any]] = [
    ("minimum-text", {"column": "price", "minimum": "0"}),
    ("minimum-bool", {"column": "price", "minimum": True}),
    ("minimum-big-int", {"column": "price", "minimum": 10**30}),
    ("minimum-2^53-1", {"column": "price", "minimum": -(2**53 - 1)}),
    ("minimum-2^53", {"column": "price", "minimum": 2**53}),
    ("minimum-float", {"column": "price", "minimum": 1.5e308}),
    ("enum-empty", {"column": "symbol", "enum": []}),
    ("enum-object", {"column": "symbol", "enum": [{}]}),
    ("enum-mixed", {"column": "symbol", "enum": ["BTC", 1, 2.5, True]}),
    ("pattern-empty", {"column": "symbol", "pattern": ""}),
    ("pattern-1000-astral", {"column": "symbol", "pattern": "\U0001f600" * 1000}),
    ("pattern-1001", {"column": "symbol", "pattern": "a" * 1001}),
    ("pattern-not-text", {"column": "symbol", "pattern": 7}),
    ("type-float", {"column": "price", "type": "float"}),
    ("type-list", {"column": "price", "type": ["number"]}),
    ("required-1", {"column": "price", "required": 1}),
    ("unique-false", {"column": "price", "unique": False}),
    ("freshness-negative", {"column": "date", "freshness": {"maxAge": -1}}),
    ("freshness-float", {"column": "date", "freshness": {"maxAge": 1.0}}),
    ("freshness-extra", {"column": "date", "freshness": {"maxAge": 1, "x": 2}}),
    ("rowcount-empty", {"rowCount": {}}),
    ("rowcount-backwards", {"rowCount": {"min": 5, "max": 1}}),
    ("rowcount-2^53", {"rowCount": {"min": 2**53}}),
    ("rowcount-with-column", {"rowCount": {"min": 1}, "column": "price"}),
    ("rowcount-null-column", {"rowCount": {"min": 1}, "column": None}),
    ("referential-warn", {"referential": True, "level": "warn"}),
    ("referential-no-refs", {"referential": True}),
    ("two-constraints", {"column": "price", "minimum": 0, "maximum": 1}),
    ("no-constraint", {"column": "price"}),
    ("unknown-constraint", {"column": "price", "minLength": 1}),
    ("minimum-no-column", {"minimum": 0}),
    ("empty-column", {"column": "", "minimum": 0}),
    ("level-info", {"column": "price", "minimum": 0, "level": "info"}),
    ("not-an-object", ["price", "minimum", 0]),
]


def quality_variants(doc: Doc) -> Iterator[tuple[str, Doc]]:
    yield from _edited_rules(doc)
    yield from _edited_schema(doc)
    yield from _edited_quality(doc)
    yield from _resigned(doc)


def _edit(doc: Doc, change: Callable[[Doc], None]) -> Doc:
    out = copy.deepcopy(doc)
    change(out["manifest"]["manifest"])
    return out


def _edited_rules(doc: Doc) -> Iterator[tuple[str, Doc]]:
    for name, rule in RULES:
        yield f"rule-{name}", _edit(doc, lambda m, r=rule: m["schema"]["rules"].append(r))
        yield f"rule-{name}-alone", _edit(doc, lambda m, r=rule: m["schema"].update(rules=[r]))
    yield "rules-reversed", _edit(doc, lambda m: m["schema"]["rules"].reverse())
    yield (
        "rules-level-omitted",
        _edit(doc, lambda m: [r.pop("level") for r in m["schema"]["rules"] if r["level"] == "error"]),
    )
    yield "rules-repeated", _edit(doc, lambda m: m["schema"]["rules"].append(m["schema"]["rules"][0]))
    yield "rules-on-refs-field", _edit(doc, lambda m: m["schema"].update(derivedFrom="price"))
    yield (
        "rules-65",
        _edit(
            doc,
            lambda m: m["schema"].update(rules=[{"column": f"c{i}", "required": True} for i in range(65)]),
        ),
    )


def _edited_schema(doc: Doc) -> Iterator[tuple[str, Doc]]:
    yield "schema-v2-no-rules", _edit(doc, lambda m: m["schema"].pop("rules"))
    yield "schema-v2-empty-rules", _edit(doc, lambda m: m["schema"].update(rules=[]))
    yield "schema-v1-with-rules", _edit(doc, lambda m: m["schema"].update(format="provenance-schema/v1"))
    yield "schema-rules-not-list", _edit(doc, lambda m: m["schema"].update(rules={"a": 1}))
    yield "manifest-v1-with-quality", _edit(doc, lambda m: m.update(format="provenance-manifest/v1"))


def _edited_quality(doc: Doc) -> Iterator[tuple[str, Doc]]:
    yield "quality-missing", _edit(doc, lambda m: m.pop("quality"))
    yield "quality-null", _edit(doc, lambda m: m.update(quality=None))
    yield "quality-extra", _edit(doc, lambda m: m["quality"].update(passed=True))
    yield "quality-report-short", _edit(doc, lambda m: m["quality"].update(report="0x1234"))
    yield (
        "quality-report-upper",
        _edit(doc, lambda m: m["quality"].update(report=m["quality"]["report"].upper())),
    )
    yield "quality-failed-unsorted", _edit(doc, lambda m: m["quality"].update(failedRules=["z.x", "a.b"]))
    yield "quality-failed-repeated", _edit(doc, lambda m: m["quality"].update(failedRules=["a.b", "a.b"]))
    yield "quality-failed-not-text", _edit(doc, lambda m: m["quality"].update(failedRules=[1]))
    yield "quality-failed-cleared", _edit(doc, lambda m: m["quality"].update(failedRules=[]))
    yield "quality-report-other", _edit(doc, lambda m: m["quality"].update(report="0x" + "00" * 32))


def _resigned(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """Manifests signed again over other rules: their schema hash is recomputed by both
    verifiers from the rules' normal form (sorted by id in code point order, levels written)."""
    base = Manifest.from_json(doc["manifest"]["manifest"])
    rule_sets: dict[str, list[dict[str, Any]]] = {
        "astral-columns": [
            {"column": "\U0001f600", "required": True},
            {"column": "\uffff", "required": True},
            {"column": "é", "minimum": 0},
        ],
        "numbers": [
            {"column": "price", "minimum": 2**53 - 1, "level": "warn"},
            {"column": "price", "maximum": 0.1},
            {"column": "symbol", "enum": ["BTC", 7, 7.5, False, 1e21]},
        ],
        "dataset-rules": [{"rowCount": {"max": 0}, "level": "warn"}, {"column": "date", "type": "datetime"}],
    }
    for name, rules in rule_sets.items():
        schema = dataclasses.replace(base.schema, rules=parse_rules(rules, derived_from=None))
        for failed in ((), tuple(sorted(r.id for r in schema.rules))[:2]):
            quality = QualitySummary(bytes(range(32)), failed)
            manifest = dataclasses.replace(base, schema=schema, quality=quality)
            out = copy.deepcopy(doc)
            out["manifest"] = sign(manifest, factories.DOMAIN, factories.SOURCE_KEY).to_json()
            yield f"resigned-{name}-{len(failed)}-failed", out
    plain = dataclasses.replace(base, schema=Schema(base.schema.key, dict(base.schema.columns)), quality=None)
    out = copy.deepcopy(doc)
    out["manifest"] = sign(plain, factories.DOMAIN, factories.SOURCE_KEY).to_json()
    yield "resigned-as-v1", out
