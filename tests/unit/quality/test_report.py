"""The quality report's and summary's JSON forms: what a reader recomputes from the served JSON is
the digest the source signed, and malformed summaries are refused."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance.errors import FormatError
from provenance.quality.report import QualityReport, QualitySummary, RuleOutcome, report_digest
from provenance.quality.rules import Rule

RULES = st.sampled_from(
    [
        Rule("minimum", "warn", "price", 0),
        Rule("required", "error", "date", True),
        Rule("rowCount", "warn", None, {"min": 1}),
        Rule("pattern", "warn", "sym", "[A-Z]+"),
    ]
)
KEYS = st.lists(
    st.lists(st.one_of(st.text(max_size=5), st.integers(-(2**53) + 1, 2**53 - 1)), min_size=1, max_size=2),
    max_size=10,
)


@st.composite
def reports(draw: st.DrawFn) -> QualityReport:
    outcomes = []
    for rule in draw(st.lists(RULES, unique_by=lambda r: r.id, max_size=4)):
        keys = tuple(orjson.dumps(k) for k in draw(KEYS))
        outcomes.append(RuleOutcome(rule, draw(st.integers(len(keys), 10**6)), keys))
    return QualityReport(draw(st.integers(0, 10**9)), draw(st.integers(0, 2**40)), tuple(outcomes))


@given(reports())
def test_the_served_json_gives_back_the_signed_digest(report: QualityReport) -> None:
    served = json.loads(json.dumps(report.to_json()))
    assert report_digest(served) == report.digest()
    summary = report.summary()
    assert QualitySummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary
    assert summary.passed == (not any(o.failures for o in report.outcomes))


def test_a_malformed_summary_or_report_is_refused() -> None:
    good = {"report": "0x" + "ab" * 32, "failedRules": ["a.minimum"]}
    for bad in ({**good, "passed": True}, {**good, "failedRules": "a"}, {**good, "report": "0x12"}, []):
        with pytest.raises(FormatError):
            QualitySummary.from_json(bad)
    with pytest.raises(FormatError, match="a quality report has format"):
        report_digest({"format": "other"})
