"""``provenance check``'s report for machines: JSON, JUnit XML (one test case per check) and
SARIF 2.1.0 (each added, changed or moved record at its row, so code scanning shows it on the
file; each failed check on the file)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from provenance.integrity import Change, Report
from provenance.proofs.verdict import Status

REPORT_FORMAT = "provenance-check-report/v1"
_DOCS = "https://provenance-ledger.invalid/docs/ci"
_PASSING = (Status.VALID, Status.NOT_APPLICABLE)
_RECORD_RULES = {
    "added": "a record that was not in the anchored snapshot",
    "removed": "a record of the anchored snapshot that the file no longer holds",
    "changed": "a record whose content differs from the anchored one with the same key",
    "moved": "a record at another position than in the anchored snapshot (the root depends on order)",
}


def _tool_version() -> str:
    try:
        return version("provenance-ledger")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def to_json(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "status": report.status,
        "dataset": report.dataset,
        "version": report.version,
        "file": report.file,
        "checks": [c.to_json() for c in report.checks],
        "notes": list(report.notes),
    }
    if report.diff is not None:
        out["diff"] = {
            "against": report.diff.against,
            "counts": dict(report.diff.counts),
            "changes": [_change_json(c) for c in report.diff.changes],
        }
    return out


def _change_json(c: Change) -> dict[str, Any]:
    return {"kind": c.kind, "key": c.key, "index": c.index, "anchoredIndex": c.anchored_index, "line": c.line}


def to_junit(report: Report) -> str:
    """One ``testcase`` per check: a failure for invalid, skipped for not applicable, an error
    for a check that could not complete (absent, pending)."""
    name = f"provenance check {report.dataset} v{report.version}"
    suite = ET.Element("testsuite", name=name, tests=str(len(report.checks)))
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    for c in report.checks:
        case = ET.SubElement(suite, "testcase", classname=f"provenance.check.{report.dataset}", name=c.name)
        if c.status is Status.INVALID:
            counts["failures"] += 1
            fail = ET.SubElement(case, "failure", message=f"{c.reason}: {c.detail}", type=c.reason)
            fail.text = _failure_text(report, c.name, c.detail)
        elif c.status is Status.NOT_APPLICABLE:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=c.detail)
        elif c.status is not Status.VALID:
            counts["errors"] += 1
            ET.SubElement(
                case, "error", message=f"{c.reason or c.status.value}: {c.detail}", type=c.status.value
            )
        ET.SubElement(case, "system-out").text = c.detail
    suite.attrib.update({k: str(v) for k, v in counts.items()})
    root = ET.Element("testsuites", name="provenance check")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _failure_text(report: Report, check: str, detail: str) -> str:
    if check != "data" or report.diff is None:
        return detail
    d = report.diff
    lines = [detail, f"against {d.against}: " + ", ".join(f"{n} {k}" for k, n in d.counts.items())]
    lines += [f"{c.kind} {c.key}" + (f" (line {c.line})" if c.line else "") for c in d.changes]
    return "\n".join(lines)


def to_sarif(report: Report) -> dict[str, Any]:
    rules = [
        {"id": f"record-{kind}", "shortDescription": {"text": text}, "helpUri": _DOCS}
        for kind, text in _RECORD_RULES.items()
    ]
    rules += [
        {"id": f"check-{c.name}", "shortDescription": {"text": f"the {c.name} check of the snapshot proof"}}
        for c in report.checks
    ]
    results = [
        _check_result(report, c.name, c.reason, c.detail) for c in report.checks if c.status not in _PASSING
    ]
    if report.diff is not None:
        results += [_record_result(report, c) for c in report.diff.changes]
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "provenance-check",
                        "version": _tool_version(),
                        "informationUri": _DOCS,
                        "rules": rules,
                    }
                },
                "artifacts": [{"location": {"uri": report.file}}],
                "results": results,
            }
        ],
    }


def _location(report: Report, line: int | None) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": report.file, "index": 0},
            "region": {"startLine": line or 1},
        }
    }


def _check_result(report: Report, check: str, reason: str, detail: str) -> dict[str, Any]:
    return {
        "ruleId": f"check-{check}",
        "level": "error",
        "message": {"text": f"{report.dataset} v{report.version}: {reason or check}: {detail}"},
        "locations": [_location(report, 1)],
        "partialFingerprints": {"provenanceCheck/v1": f"{report.dataset}:{check}:{reason}"},
    }


def _record_result(report: Report, c: Change) -> dict[str, Any]:
    anchored = f"record {c.anchored_index} of v{report.version}" if c.anchored_index is not None else ""
    text = {
        "added": f"record {c.key} is not in {report.dataset} v{report.version} as anchored",
        "removed": f"record {c.key} ({anchored}) is missing from the file",
        "changed": f"record {c.key} differs from {anchored} as anchored",
        "moved": f"record {c.key} is at position {c.index}, anchored as {anchored}",
    }[c.kind]
    return {
        "ruleId": f"record-{c.kind}",
        "level": "error",
        "message": {"text": text},
        "locations": [_location(report, c.line)],
        "partialFingerprints": {"provenanceRecord/v1": f"{report.dataset}:{c.kind}:{c.key}"},
    }
