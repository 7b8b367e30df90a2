"""The gate's core: a file's tree, the diff against the anchored records, and its reports."""

from __future__ import annotations

import json
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import integrity, integrity_report
from provenance.integrity import Report
from provenance.proofs.verdict import Check, Status
from provenance.records.schema import Schema
from tests.vectors import VECTORS

SCHEMA = Schema(("id",), {"v": "integer"})


def write(path: Path, rows: list[tuple[str, int]]) -> Path:
    path.write_text("id,v\n" + "".join(f"{k},{v}\n" for k, v in rows))
    return path


@settings(max_examples=60, deadline=None)
@given(
    rows=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=4), st.integers(0, 9), min_size=1, max_size=30
    ),
    drop=st.sets(st.integers(0, 29)),
    bump=st.sets(st.integers(0, 29)),
    extra=st.integers(0, 3),
)
def test_diff_counts_every_added_removed_and_changed_record(
    rows: dict[str, int], drop: set[int], bump: set[int], extra: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _diff_case(Path(tmp), rows, drop, bump, extra)


def _diff_case(base: Path, rows: dict[str, int], drop: set[int], bump: set[int], extra: int) -> None:
    before = list(rows.items())
    after = [(k, v + 1 if i in bump else v) for i, (k, v) in enumerate(before) if i not in drop]
    after += [(f"new{i}", i) for i in range(extra)]
    a = integrity.hash_file(write(base / "before.csv", before), SCHEMA)
    b = integrity.hash_file(write(base / "after.csv", after), SCHEMA)
    d = integrity.diff(b, a)
    removed = sum(1 for i in range(len(before)) if i in drop)
    changed = sum(1 for i in range(len(before)) if i in bump and i not in drop)
    assert d.counts["removed"] == removed and d.counts["added"] == extra and d.counts["changed"] == changed
    assert (a.root == b.root) == (not removed and not extra and not changed)
    lines = {c.key: c.line for c in d.changes if c.kind == "added"}
    for i in range(extra):
        assert lines[json.dumps([f"new{i}"])] == len(after) - extra + i + 2  # header is line 1


def test_the_tree_of_a_file_is_the_tree_of_its_records_stream(tmp_path: Path) -> None:
    f = integrity.hash_file(write(tmp_path / "d.csv", [("a", 1), ("b", 2)]), SCHEMA)
    lines = [b'{"record":{"id":"a","v":1}}', b'{"record":{"id":"b","v":2}}']
    s = integrity.hash_entries(lines, ("id",), "stream")
    assert (s.root, s.keys, s.leaves) == (f.root, f.keys, f.leaves)


def report(tmp_path: Path) -> Report:
    a = integrity.hash_file(write(tmp_path / "a.csv", [("a", 1), ("b", 2)]), SCHEMA)
    b = integrity.hash_file(write(tmp_path / "b.csv", [("a", 5), ("c", 2)]), SCHEMA)
    checks = tuple(
        Check(n, Status.INVALID, "data.root-mismatch", "differs")
        if n == "data"
        else Check(n, Status.PENDING, "confirmations.pending", "1 of 2")
        if n == "confirmations"
        else Check(n, Status.NOT_APPLICABLE if n.startswith("pinned") else Status.VALID)
        for n in integrity.CHECKS
    )
    return Report("t/x", 3, "b.csv", checks, integrity.diff(b, a))


def test_junit_has_one_case_per_check(tmp_path: Path) -> None:
    r = report(tmp_path)
    assert r.status == "mismatch"
    suite = ET.fromstring(integrity_report.to_junit(r)).find("testsuite")
    assert suite is not None
    assert [c.get("name") for c in suite.iter("testcase")] == list(integrity.CHECKS)
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "1", "2")
    failure = suite.find("testcase[@name='data']/failure")
    assert failure is not None and failure.text is not None and 'changed ["a"] (line 2)' in failure.text


def test_sarif_points_at_rows_and_fits_the_schema(tmp_path: Path) -> None:
    sarif = integrity_report.to_sarif(report(tmp_path))
    jsonschema.validate(sarif, json.loads((VECTORS / "sarif" / "sarif-subset.schema.json").read_text()))
    by_rule = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert by_rule["record-changed"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert by_rule["record-added"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert "check-confirmations" in by_rule and "check-anchor" not in by_rule
    assert integrity_report.to_json(report(tmp_path))["diff"]["counts"]["changed"] == 1
