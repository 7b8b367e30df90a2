"""A dataset's verification policy: how strictly its publisher asks that its data be verified,
in graduated levels, each a set of requirements (``provenance-policy/v1``)::

    {"format": "provenance-policy/v1", "dataset": "tm/ratings/daily",
     "levels": [
       {"name": "published", "signers": ["0xAb…"]},
       {"name": "anchored", "anchorMode": "checkpoint", "minConfirmations": 1, "maxAnchorDelay": 3600},
       {"name": "final", "minConfirmations": 12, "qualityPass": true}]}

Levels are cumulative: a datum meets a level when it meets that level's requirements and every
earlier level's. A verifier reports each level, met or not and why, and the highest met.

``cadence`` (optional, seconds) declares how often the dataset gets a new version; a source's
track record counts the versions later than that.

The policy is published as the one record of a snapshot of the dataset ``ledger/policy/<name>``,
signed by the dataset's own source and anchored like any other: a verifier checks the policy's
bundle first (and that its signer is the datum's), so the policy is as tamper-evident as the
data. Requirements: ``signers`` (the manifest's signer is one of them), ``anchorMode``
(``direct`` or ``checkpoint``), ``minConfirmations`` (blocks on top of the anchor),
``maxAnchorDelay`` (seconds from the manifest's ``createdAt`` to the anchoring block's
timestamp), ``qualityPass`` (a v2 manifest whose quality summary lists no failed rule).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provenance.datasets import check_dataset_name
from provenance.errors import FormatError, InputError, VerificationError
from provenance.proofs.bundle import ProofBundle, Sections
from provenance.proofs.verdict import Verdict

POLICY_FORMAT = "provenance-policy/v1"
POLICY_PREFIX = "ledger/policy/"
REQUIREMENTS = ("signers", "anchorMode", "minConfirmations", "maxAnchorDelay", "qualityPass")
MAX_LEVELS = 8
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def policy_dataset(name: str) -> str:
    """The dataset whose snapshots publish ``name``'s policy."""
    return check_dataset_name(POLICY_PREFIX + name)


def _bad(reason: str) -> FormatError:
    return FormatError(f"policy: {reason}", code="policy.malformed")


@dataclass(frozen=True)
class Level:
    name: str
    requires: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.requires}

    @classmethod
    def from_json(cls, obj: Any) -> Level:
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("name"), str)
            or not _NAME.fullmatch(obj["name"])
        ):
            raise _bad("a level is an object with a name (lowercase letters, digits, -)")
        requires = {k: v for k, v in obj.items() if k != "name"}
        unknown = set(requires) - set(REQUIREMENTS)
        if unknown:
            raise _bad(
                f"unknown requirement(s) {', '.join(sorted(unknown))} (known: {', '.join(REQUIREMENTS)})"
            )
        for key, value in requires.items():
            _check_requirement(key, value)
        return cls(obj["name"], requires)


def _check_requirement(key: str, value: Any) -> None:
    ok = {
        "signers": isinstance(value, list)
        and 0 < len(value) <= 16
        and all(isinstance(a, str) and _ADDRESS.fullmatch(a) for a in value),
        "anchorMode": value in ("direct", "checkpoint"),
        "minConfirmations": type(value) is int and 0 <= value <= 10_000,
        "maxAnchorDelay": type(value) is int and 0 <= value < 2**53,
        "qualityPass": value is True,
    }[key]
    if not ok:
        raise _bad(f"{key} has a value it cannot take: {value!r}")


@dataclass(frozen=True)
class Policy:
    dataset: str
    levels: tuple[Level, ...]
    cadence: int | None = None  # seconds between versions the publisher declares (track record)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": POLICY_FORMAT, "dataset": self.dataset}
        out["levels"] = [lv.to_json() for lv in self.levels]
        if self.cadence is not None:
            out["cadence"] = self.cadence
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Policy:
        """Raises: FormatError (``policy.malformed``)."""
        if not isinstance(obj, dict) or obj.get("format") != POLICY_FORMAT:
            raise _bad(f"a policy is an object with format {POLICY_FORMAT!r}")
        if not {"format", "dataset", "levels"} <= set(obj) <= {"format", "dataset", "levels", "cadence"}:
            raise _bad("a policy has format, dataset, levels and (optionally) cadence")
        cadence = obj.get("cadence")
        if cadence is not None and not (type(cadence) is int and 0 < cadence < 2**53):
            raise _bad("cadence is a whole number of seconds")
        levels = obj["levels"]
        if not (isinstance(levels, list) and 0 < len(levels) <= MAX_LEVELS):
            raise _bad(f"levels must be a list of 1 to {MAX_LEVELS} levels")
        parsed = tuple(Level.from_json(lv) for lv in levels)
        if len({lv.name for lv in parsed}) != len(parsed):
            raise _bad("level names repeat")
        if not isinstance(obj["dataset"], str):
            raise _bad("dataset must be a dataset name")
        return cls(check_dataset_name(obj["dataset"]), parsed, cadence)


@dataclass(frozen=True)
class Facts:
    """What a verification established about a datum, as a policy reads it. ``None``: not known
    (offline, or the anchor could not be read), which no requirement accepts."""

    dataset: str
    valid: bool  # the verdict was valid (a policy only grades valid data)
    signer: str
    anchor_mode: str | None
    confirmations: int | None
    anchor_delay: int | None  # seconds from createdAt to the anchoring block's time
    quality_passed: bool | None  # None: the schema has no rules


def _unmet(key: str, want: Any, facts: Facts) -> str | None:
    """Why ``facts`` miss the requirement, or None when they meet it."""
    if key == "signers":
        signers = {a.lower() for a in want}
        return None if facts.signer.lower() in signers else f"signed by {facts.signer}, not a listed signer"
    if key == "anchorMode":
        return None if facts.anchor_mode == want else f"anchored {facts.anchor_mode or 'nowhere'}, not {want}"
    if key == "minConfirmations":
        got = facts.confirmations
        return (
            None
            if got is not None and got >= want
            else f"{got if got is not None else 'unknown'} of {want} confirmations"
        )
    if key == "maxAnchorDelay":
        got = facts.anchor_delay
        if got is None:
            return "the anchor's time is unknown"
        return None if got <= want else f"anchored {got} s after createdAt, more than {want} s"
    if facts.quality_passed is None:
        return "the schema has no quality rules"
    return None if facts.quality_passed else "the quality report lists failed rules"


@dataclass(frozen=True)
class PolicyResult:
    policy: Policy
    levels: tuple[tuple[str, tuple[str, ...]], ...]  # (level, why it is not met: empty when met)

    @property
    def met(self) -> str | None:
        """The highest level met (levels are cumulative), or None."""
        best = None
        for name, unmet in self.levels:
            if unmet:
                break
            best = name
        return best

    def meets(self, level: str | None) -> bool:
        """Whether ``level`` (by default the first, the least a publisher asks) is met.

        Raises:
            InputError: ``policy.unknown-level``.
        """
        names = [name for name, _ in self.levels]
        wanted = level or names[0]
        if wanted not in names:
            raise InputError(
                f"the policy has no level {wanted!r} (it has {', '.join(names)})", code="policy.unknown-level"
            )
        return all(not unmet for _, unmet in self.levels[: names.index(wanted) + 1])

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.policy.dataset,
            "met": self.met,
            "levels": [{"name": n, "met": not u, "unmet": list(u)} for n, u in self.levels],
        }


def evaluate(policy: Policy, facts: Facts) -> PolicyResult:
    """Grade a verified datum against its dataset's policy."""
    out = []
    for level in policy.levels:
        unmet: list[str] = []
        if policy.dataset != facts.dataset:
            unmet.append(f"the policy is {policy.dataset}'s, the datum is {facts.dataset}'s")
        if not facts.valid:
            unmet.append("the datum did not verify")
        unmet += [why for key, want in level.requires.items() if (why := _unmet(key, want, facts))]
        out.append((level.name, tuple(unmet)))
    return PolicyResult(policy, tuple(out))


def trusted_policy(policy_bundle: ProofBundle, verdict: Verdict, datum: Sections) -> Policy:
    """The policy that a verified bundle of ``ledger/policy/<name>`` publishes for the datum's
    dataset ``name``, signed by the datum's own signer.

    Raises:
        VerificationError: ``policy.unverified``, ``policy.wrong-dataset``, ``policy.other-signer``.
        FormatError: ``policy.malformed``.
    """
    if verdict.status != "valid":
        raise VerificationError(
            f"the policy's own bundle is {verdict.status}, not valid", code="policy.unverified"
        )
    want = policy_dataset(datum.manifest.manifest.dataset)
    if policy_bundle.record.dataset != want:
        raise VerificationError(
            f"the bundle is a record of {policy_bundle.record.dataset}, not of {want}",
            code="policy.wrong-dataset",
        )
    if policy_bundle.manifest.signer != datum.manifest.signer:
        raise VerificationError(
            f"the policy is signed by {policy_bundle.manifest.signer}, the data by {datum.manifest.signer}",
            code="policy.other-signer",
        )
    return Policy.from_json(policy_bundle.record.entry.get("record"))


def facts_of(datum: Sections, valid: bool, depth: int | None, anchored_at: int | None) -> Facts:
    """What a verification established (``valid``: every check passed), as a policy reads it
    (``depth`` and ``anchored_at`` from the chain, None offline)."""
    m = datum.manifest.manifest
    return Facts(
        dataset=m.dataset,
        valid=valid,
        signer=datum.manifest.signer,
        anchor_mode=datum.anchor.mode if datum.anchor is not None else None,
        confirmations=depth,
        anchor_delay=None if anchored_at is None else anchored_at - m.created_at,
        quality_passed=None if m.quality is None else m.quality.passed,
    )
