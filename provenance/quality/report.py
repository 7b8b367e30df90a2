"""A snapshot's quality report, and the summary of it a v2 manifest signs.

The report is a pure function of the data file, the schema's rules and the manifest's
``createdAt`` (the time ``freshness`` is judged at), so anyone holding the file and the signed
manifest recomputes it byte for byte: ``SHA-256(RFC8785(report))`` is the ``report`` digest of
the manifest's ``quality``. Its JSON form (``provenance-quality/v1``)::

    {"format": "provenance-quality/v1", "records": 1000, "asOf": 1764201600,
     "rules": [{"rule": "price_usd.minimum", "level": "warn", "failures": 2,
                "firstKeys": [["BTC", "2026-11-27"], ...]}, ...],
     "failedRules": ["price_usd.minimum"]}

``firstKeys`` are the keys of the first failing records in file order (at most 10); ``freshness``
adds ``newest`` (the value) and ``rowCount`` nothing (``records`` is there).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import rfc8785

from provenance.errors import FormatError
from provenance.fields import bytes32, hex_str
from provenance.quality.rules import Rule

REPORT_FORMAT = "provenance-quality/v1"


@dataclass(frozen=True)
class QualitySummary:
    """What a v2 manifest signs: the report's digest and the rules that failed (``warn`` rules:
    an ``error`` rule that fails refuses the snapshot), so a verifier holding only the bundle
    knows whether the data passed."""

    report: bytes
    failed_rules: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failed_rules

    def to_json(self) -> dict[str, Any]:
        return {"report": hex_str(self.report), "failedRules": list(self.failed_rules)}

    @classmethod
    def from_json(cls, obj: Any) -> QualitySummary:
        """Raises: FormatError (``manifest.malformed``)."""
        if not isinstance(obj, dict) or set(obj) != {"report", "failedRules"}:
            raise FormatError("manifest quality must be {report, failedRules}", code="manifest.malformed")
        failed = obj["failedRules"]
        if not (isinstance(failed, list) and all(isinstance(r, str) for r in failed)):
            raise FormatError("manifest quality failedRules must be rule names", code="manifest.malformed")
        if failed != sorted(set(failed)):
            raise FormatError(
                "manifest quality failedRules must be sorted and unique", code="manifest.malformed"
            )
        return cls(bytes32(obj["report"], "quality report"), tuple(failed))


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    failures: int
    first_keys: tuple[bytes, ...] = ()  # key texts (RFC 8785 JSON of the key values)
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "level": self.rule.level,
            "failures": self.failures,
            "firstKeys": [orjson.loads(k) for k in self.first_keys],
            **self.detail,
        }


@dataclass(frozen=True)
class QualityReport:
    records: int
    as_of: int
    outcomes: tuple[RuleOutcome, ...]

    @property
    def failed_rules(self) -> tuple[str, ...]:
        return tuple(sorted(o.rule.id for o in self.outcomes if o.failures))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "records": self.records,
            "asOf": self.as_of,
            "rules": [o.to_json() for o in self.outcomes],
            "failedRules": list(self.failed_rules),
        }

    def digest(self) -> bytes:
        return hashlib.sha256(rfc8785.dumps(self.to_json())).digest()

    def summary(self) -> QualitySummary:
        return QualitySummary(self.digest(), self.failed_rules)


def report_digest(doc: Any) -> bytes:
    """The digest of a report as served (JSON), for checking it against a manifest's summary.

    Raises:
        FormatError: not a quality report.
    """
    if not isinstance(doc, dict) or doc.get("format") != REPORT_FORMAT:
        raise FormatError(f"a quality report has format {REPORT_FORMAT!r}", code="quality.malformed")
    try:
        return hashlib.sha256(rfc8785.dumps(doc)).digest()
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as e:
        raise FormatError(f"quality report has no RFC 8785 form: {e}", code="quality.malformed") from None
