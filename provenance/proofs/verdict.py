"""A verifier's verdict: one :class:`Check` per link of a proof, each with a stable reason code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CHECKS = (
    "leaf",
    "inclusion",
    "signature",
    "source-status",
    "log-inclusion",
    "checkpoint-signature",
    "anchor",
    "confirmations",
    "lineage",
)


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"  # the bundle carries nothing to check (e.g. not anchored yet)
    PENDING = "pending"  # anchored but not yet final (confirmations)
    SKIPPED = "skipped"  # not checked, on request (offline)
    NOT_APPLICABLE = "not-applicable"
    WARNING = "warning"  # only in a verdict's warnings: worth knowing, not a failure


#: The one failure that is the source's own statement, not a broken proof: the verdict says
#: ``retracted`` (still a failing verdict) when it is the only thing wrong.
RETRACTED = "anchor.retracted"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    reason: str = ""  # a stable code when not valid, e.g. "inclusion.root-mismatch"
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status.value, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]
    upstream: tuple[Verdict, ...] = ()
    offline: bool = False
    warnings: tuple[Check, ...] = ()  # e.g. the snapshot is disputed; the status does not change

    @property
    def status(self) -> str:
        """``invalid`` when any check failed (``retracted`` when the only failure is the source's
        retraction of the snapshot); ``valid`` when every check passed, does not apply
        or was skipped on request (offline, where a missing anchor and log are accepted);
        ``incomplete`` otherwise (e.g. not anchored yet, or awaiting confirmations)."""
        failed = [c for c in self.checks if c.status is Status.INVALID]
        if failed:
            return "retracted" if all(c.reason == RETRACTED for c in failed) else "invalid"
        if all(c.status in self._passing() for c in self.checks):
            return "valid"
        return "incomplete"

    def _passing(self) -> tuple[Status, ...]:
        ok = (Status.VALID, Status.NOT_APPLICABLE, Status.SKIPPED)
        return (*ok, Status.ABSENT) if self.offline else ok

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status not in self._passing()]

    def to_json(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "offline": self.offline,
            "checks": [c.to_json() for c in self.checks],
            "upstream": [u.to_json() for u in self.upstream],
        }
        if self.warnings:
            out["warnings"] = [c.to_json() for c in self.warnings]
        return out
