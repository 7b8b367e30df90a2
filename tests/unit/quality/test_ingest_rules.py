"""Rules at ingest: a warn rule is counted in the report, an error rule refuses the file naming
line and rule, and the report is the same however the file is cut and whoever recomputes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provenance import ingest, integrity
from provenance.errors import InputError
from provenance.ingest import ingest_file
from provenance.quality.report import QualityReport
from provenance.records import readers
from provenance.records.schema import Schema

AS_OF = 1795996800  # 2026-11-30T00:00:00Z
CSV = (
    "sym,date,price,grade\n"
    "A,2026-11-27,1.5,A\n"
    "B,2026-11-28,-2,B\n"
    'C,2026-11-26,"x",Q\n'
    "D,,3,A\n"
    "E,2026-11-28,3,A\n"
)
JSONL = (
    '{"sym":"A","date":"2026-11-27","price":1.5,"grade":"A"}\n'
    '{"sym":"B","date":"2026-11-28","price":-2,"grade":"B"}\n'
    '{"sym":"C","date":"2026-11-26","price":"x","grade":"Q"}\n'
    '{"sym":"D","price":3,"grade":"A"}\n'
    '{"sym":"E","date":"2026-11-28","price":3,"grade":"A"}\n'
)


class _Drop:
    def add(self, *_: Any) -> None:
        pass


def schema(*rules: dict[str, Any]) -> Schema:
    doc = {"format": "provenance-schema/v2", "key": ["sym"], "columns": {}, "salted": False}
    return Schema.from_json({**doc, "rules": list(rules)})


WARN = schema(
    {"column": "price", "minimum": 0, "level": "warn"},
    {"column": "price", "type": "number", "level": "warn"},
    {"column": "grade", "enum": ["A", "B"], "level": "warn"},
    {"column": "date", "required": True, "level": "warn"},
    {"column": "date", "unique": True, "level": "warn"},
    {"column": "date", "freshness": {"maxAge": 3 * 86400}, "level": "warn"},
    {"rowCount": {"max": 4}, "level": "warn"},
)


def run(tmp_path: Path, text: str, s: Schema, suffix: str = ".csv", **kw: Any) -> QualityReport:
    path = tmp_path / f"data{suffix}"
    path.write_text(text)
    report = ingest_file(path, s, _Drop(), as_of=AS_OF, **kw).quality
    assert report is not None
    return report


@pytest.mark.parametrize(("text", "suffix"), [(CSV, ".csv"), (JSONL, ".jsonl")])
def test_warn_rules_are_counted_with_the_first_failing_keys(tmp_path: Path, text: str, suffix: str) -> None:
    report = run(tmp_path, text, WARN, suffix).to_json()
    by_rule = {r["rule"]: r for r in report["rules"]}
    assert report["records"] == 5 and report["asOf"] == AS_OF
    assert (by_rule["price.minimum"]["failures"], by_rule["price.minimum"]["firstKeys"]) == (
        2,
        [["B"], ["C"]],
    )
    assert by_rule["price.type"]["firstKeys"] == [["C"]]
    assert by_rule["grade.enum"]["firstKeys"] == [["C"]]
    assert by_rule["date.required"]["firstKeys"] == [["D"]]
    assert by_rule["date.unique"]["firstKeys"] == [["E"]]  # repeats B's date
    assert by_rule["date.freshness"] == {
        "rule": "date.freshness",
        "level": "warn",
        "failures": 0,
        "firstKeys": [],
        "newest": "2026-11-28",
    }
    assert by_rule["rowCount"]["failures"] == 1
    assert report["failedRules"] == [
        "date.required",
        "date.unique",
        "grade.enum",
        "price.minimum",
        "price.type",
        "rowCount",
    ]


@pytest.mark.parametrize(
    ("rule", "line", "message"),
    [
        (
            {"column": "price", "minimum": 0},
            3,
            "line 3, column price: rule price.minimum (minimum 0): '-2' fails it",
        ),
        (
            {"column": "grade", "enum": ["A", "B"]},
            4,
            "line 4, column grade: rule grade.enum (enum ['A', 'B']): 'Q' fails it",
        ),
        (
            {"column": "date", "required": True},
            5,
            "line 5, column date: rule date.required (required): a missing value fails it",
        ),
        (
            {"column": "date", "unique": True},
            6,
            "line 6, column date: rule date.unique (unique): record 5 repeats the value of record 2",
        ),
    ],
)
def test_an_error_rule_refuses_naming_line_and_rule(
    tmp_path: Path, rule: dict[str, Any], line: int, message: str
) -> None:
    with pytest.raises(InputError) as e:
        run(tmp_path, CSV, schema(rule))
    assert (e.value.code, e.value.line) == ("quality.rule-failed", line)
    assert e.value.message == f"{tmp_path / 'data.csv'}, {message}"


def test_whole_file_error_rules_say_what_failed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"rule rowCount \(row count max 4\): 5 records"):
        run(tmp_path, CSV, schema({"rowCount": {"max": 4}}))
    with pytest.raises(InputError, match=r"the newest value 2026-11-28 is 172800 s old at 1795996800"):
        run(tmp_path, CSV, schema({"column": "date", "freshness": {"maxAge": 86400}}))


def test_the_report_does_not_depend_on_how_the_file_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(f"S{i},2026-11-{i % 28 + 1:02d},{(i % 7) - 2},{'ABQ'[i % 3]}\n" for i in range(3000))
    text = "sym,date,price,grade\n" + rows
    whole = run(tmp_path, text, WARN, workers=1)
    monkeypatch.setattr(readers, "CHUNK_BYTES", 997)  # about 40 rows a chunk
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    cut = run(tmp_path, text, WARN, workers=2)
    assert cut.to_json() == whole.to_json()
    assert cut.digest() == whole.digest()
    unique = next(r for r in cut.to_json()["rules"] if r["rule"] == "date.unique")
    assert unique["failures"] == 3000 - 28 and unique["firstKeys"][0] == ["S28"]


def test_a_check_recomputes_the_report(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    built = ingest_file(path, WARN, _Drop(), as_of=AS_OF)
    tree = integrity.hash_file(path, WARN, as_of=AS_OF)
    assert built.quality is not None and tree.quality is not None
    assert tree.quality.summary() == built.quality.summary()
    later = integrity.hash_file(path, WARN, as_of=AS_OF + 86400)  # another time: freshness differs
    assert later.quality is not None and later.quality.digest() != built.quality.digest()


def test_parquet_and_typed_csv_columns_are_judged_by_their_values(tmp_path: Path) -> None:
    """Typed cells reach the rules as numbers, Parquet's as its own types; the same rules give
    the same report as the untyped CSV."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {"sym": ["A", "B", "C"], "date": ["2026-11-27", "2026-11-28", None], "price": [1.5, -2.0, 3.0]}
    pq.write_table(pa.table(rows), tmp_path / "data.parquet")
    rules = schema(
        {"column": "price", "minimum": 0, "level": "warn"},
        {"column": "date", "required": True, "level": "warn"},
    )
    from_parquet = ingest_file(tmp_path / "data.parquet", rules, _Drop(), as_of=AS_OF).quality
    typed = Schema.from_json({**rules.to_json(), "columns": {"price": "number"}})
    from_csv = run(tmp_path, "sym,date,price\nA,2026-11-27,1.5\nB,2026-11-28,-2\nC,,3\n", typed)
    assert from_parquet is not None
    assert from_parquet.failed_rules == from_csv.failed_rules == ("date.required", "price.minimum")
    assert [o.first_keys for o in from_parquet.outcomes] == [o.first_keys for o in from_csv.outcomes]
