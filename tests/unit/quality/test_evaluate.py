"""The Arrow rules against a plain Python reading of Frictionless's semantics, value by value,
over generated values of every JSON kind and CSV text; and Arrow's CSV reader against the csv
module on the columns the rules read."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.quality.columns import Column, of_csv, of_values
from provenance.quality.evaluate import _fails, newest_date
from provenance.quality.rules import Rule

INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
TIME = re.compile(
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)


def real_date(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text[:10]):
        return False
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def as_number(v: Any) -> float | None:
    if type(v) in (int, float):
        return float(v)
    if type(v) is str and NUMBER.fullmatch(v):
        n = float(v)
        return n if math.isfinite(n) else None
    return None


def reference_ok(rule: Rule, v: Any) -> bool:
    """Frictionless, one value at a time: every constraint but required passes an empty value."""
    empty = v is None or v == ""
    if rule.kind == "required":
        return not empty
    if empty:
        return True
    t = type(v)
    if rule.kind == "type":
        return {
            "string": t is str,
            "integer": t is int or (t is str and INTEGER.fullmatch(v) is not None),
            "number": as_number(v) is not None,
            "boolean": t is bool or v in ("true", "false"),
            "date": t is str and len(v) == 10 and real_date(v),
            "datetime": t is str and real_date(v) and TIME.fullmatch(v[10:]) is not None,
        }[rule.value]
    if rule.kind in ("minimum", "maximum"):
        n = as_number(v)
        return n is not None and (n >= rule.value if rule.kind == "minimum" else n <= rule.value)
    if rule.kind == "enum":
        if t is str:
            return v in [i for i in rule.value if type(i) is str]
        if t is bool:
            return v in [i for i in rule.value if type(i) is bool]
        return t in (int, float) and float(v) in [float(i) for i in rule.value if type(i) in (int, float)]
    assert rule.kind == "pattern"
    return t is str and re.fullmatch(rule.value, v) is not None


TEXTS = st.one_of(
    st.sampled_from(
        ["", "0", "-1", "1.5", "1e5", "01", " 1", "1_0", "inf", "nan", "true", "false", "A", "BTC"]
    ),
    st.sampled_from(["2026-11-27", "2024-02-29", "2023-02-29", "2026-13-01", "2026-04-31", "2026-1-01"]),
    st.sampled_from(["2026-11-27T10:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T10:00:00.5+05:30"]),
    st.text(max_size=6),
)
VALUES = st.one_of(
    TEXTS,
    st.none(),
    st.booleans(),
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
)
RULES = st.one_of(
    st.just(Rule("required", "error", "c", True)),
    st.sampled_from(["string", "integer", "number", "boolean", "date", "datetime"]).map(
        lambda k: Rule("type", "error", "c", k)
    ),
    st.floats(-1e6, 1e6).map(lambda x: Rule("minimum", "error", "c", x)),
    st.integers(-100, 100).map(lambda x: Rule("maximum", "error", "c", x)),
    st.lists(
        st.one_of(
            st.sampled_from(["A", "BTC", "1", "true"]), st.booleans(), st.integers(-2, 2), st.floats(-2, 2)
        ),
        min_size=1,
        max_size=4,
    ).map(lambda items: Rule("enum", "error", "c", items)),
    st.sampled_from(["[A-Z]{1,3}", "[0-9]+(\\.[0-9]+)?", "a|b", ".*"]).map(
        lambda p: Rule("pattern", "error", "c", p)
    ),
)


@settings(max_examples=300, deadline=None)
@given(RULES, st.lists(VALUES, max_size=20))
def test_arrow_rules_agree_with_the_reference_on_json_values(rule: Rule, values: list[Any]) -> None:
    fails = _fails(rule, of_values(values)).to_pylist()
    assert fails == [not reference_ok(rule, v) for v in values]


@settings(max_examples=200, deadline=None)
@given(RULES, st.lists(TEXTS, max_size=20))
def test_arrow_rules_agree_with_the_reference_on_csv_text(rule: Rule, texts: list[str]) -> None:
    import pyarrow as pa

    fails = _fails(rule, Column(pa.array(texts, pa.string()))).to_pylist()
    assert fails == [not reference_ok(rule, v) for v in texts]


CELLS = st.lists(st.sampled_from(["a", "b", ",", '"', "\n", "\r\n", " ", "é", "1"]), max_size=5).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(CELLS, CELLS, CELLS), min_size=1, max_size=8))
def test_arrow_reads_a_chunk_as_the_csv_module_does(rows: list[tuple[str, str, str]]) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    data = buf.getvalue().encode()
    parsed = [r for r in csv.reader(io.StringIO(data.decode(), newline="")) if r]
    columns = of_csv(data, ("a", "b", "c"), ["c", "a", "missing"], len(parsed))
    assert columns["a"].text.to_pylist() == [r[0] for r in parsed]
    assert columns["c"].text.to_pylist() == [r[2] for r in parsed]
    assert columns["missing"].text.to_pylist() == [None] * len(parsed)


def test_newest_date_reads_dates_and_offsets() -> None:
    col = of_values(["2026-11-26", "2026-11-27", "2026-02-30", "2026-11-27T23:30:00-02:00", 7, None])
    newest = newest_date(col)
    assert newest is not None and newest[1] == "2026-11-27T23:30:00-02:00"  # 2026-11-28 01:30 UTC
    assert newest_date(of_values(["x", 1])) is None
    assert orjson.dumps(newest[0])  # a plain float
