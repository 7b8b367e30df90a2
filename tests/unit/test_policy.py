"""Verification policies: the format (what parses, what is refused), and grading by levels."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance.errors import FormatError, InputError
from provenance.policy import Facts, Level, Policy, evaluate, policy_dataset

SIGNER = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
DOC: dict[str, Any] = {
    "format": "provenance-policy/v1",
    "dataset": "tm/ratings/daily",
    "levels": [
        {"name": "published", "signers": [SIGNER]},
        {"name": "anchored", "anchorMode": "checkpoint", "minConfirmations": 1, "maxAnchorDelay": 3600},
        {"name": "final", "minConfirmations": 12, "qualityPass": True},
    ],
}
GOOD = Facts("tm/ratings/daily", True, SIGNER, "checkpoint", 5, 120, True)


def test_levels_are_cumulative_and_the_highest_met_is_reported() -> None:
    result = evaluate(Policy.from_json(DOC), GOOD)
    assert result.met == "anchored"
    assert [bool(u) for _, u in result.levels] == [False, False, True]
    assert result.levels[2][1] == ("5 of 12 confirmations",)
    assert result.meets(None) and result.meets("anchored") and not result.meets("final")
    with pytest.raises(InputError, match="no level 'gold'"):
        result.meets("gold")


@pytest.mark.parametrize(
    ("facts", "met", "why"),
    [
        (
            Facts("tm/ratings/daily", True, "0x" + "11" * 20, "checkpoint", 5, 1, True),
            None,
            "not a listed signer",
        ),
        (
            Facts("tm/ratings/daily", True, SIGNER, "direct", 5, 1, True),
            "published",
            "anchored direct, not checkpoint",
        ),
        (
            Facts("tm/ratings/daily", True, SIGNER, "checkpoint", None, None, True),
            "published",
            "unknown of 1 confirmations",
        ),
        (
            Facts("tm/ratings/daily", True, SIGNER, "checkpoint", 5, 7200, True),
            "published",
            "more than 3600 s",
        ),
        (
            Facts("tm/ratings/daily", False, SIGNER, "checkpoint", 50, 1, True),
            None,
            "the datum did not verify",
        ),
        (
            Facts("tm/other", True, SIGNER, "checkpoint", 50, 1, True),
            None,
            "the policy is tm/ratings/daily's",
        ),
        (Facts("tm/ratings/daily", True, SIGNER, "checkpoint", 50, 1, None), "anchored", "no quality rules"),
        (
            Facts("tm/ratings/daily", True, SIGNER, "checkpoint", 50, 1, False),
            "anchored",
            "lists failed rules",
        ),
    ],
)
def test_each_requirement_says_why_it_is_not_met(facts: Facts, met: str | None, why: str) -> None:
    result = evaluate(Policy.from_json(DOC), facts)
    assert result.met == met
    assert any(why in reason for _, unmet in result.levels for reason in unmet)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "provenance-policy/v2"}, "format"),
        ({"levels": []}, "1 to 8 levels"),
        ({"levels": [{"name": "a"}, {"name": "a"}]}, "level names repeat"),
        ({"levels": [{"name": "A"}]}, "a level is an object with a name"),
        ({"levels": [{"name": "a", "minConfirmations": -1}]}, "minConfirmations has a value"),
        ({"levels": [{"name": "a", "signers": ["0x12"]}]}, "signers has a value"),
        ({"levels": [{"name": "a", "anchorMode": "both"}]}, "anchorMode has a value"),
        ({"levels": [{"name": "a", "qualityPass": False}]}, "qualityPass has a value"),
        ({"levels": [{"name": "a", "confirmations": 1}]}, "unknown requirement(s) confirmations"),
        ({"cadence": 0}, "cadence is a whole number"),
        ({"extra": 1}, "a policy has format, dataset, levels"),
        ({"dataset": "Not A Name"}, "must match"),
    ],
)
def test_a_bad_policy_is_refused_saying_why(change: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError) as e:
        Policy.from_json({**DOC, **change})
    assert message in e.value.message


def test_the_policy_dataset_of_a_name() -> None:
    assert policy_dataset("tm/ratings/daily") == "ledger/policy/tm/ratings/daily"


LEVELS = st.lists(
    st.fixed_dictionaries(
        {"name": st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)},
        optional={
            "signers": st.lists(st.from_regex(r"0x[0-9a-f]{40}", fullmatch=True), min_size=1, max_size=3),
            "anchorMode": st.sampled_from(["direct", "checkpoint"]),
            "minConfirmations": st.integers(0, 10_000),
            "maxAnchorDelay": st.integers(0, 10**9),
            "qualityPass": st.just(True),
        },
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda lv: lv["name"],
)


@given(LEVELS, st.one_of(st.none(), st.integers(1, 10**9)))
def test_the_json_form_round_trips(levels: list[dict[str, Any]], cadence: int | None) -> None:
    doc = {**DOC, "levels": levels, **({"cadence": cadence} if cadence else {})}
    policy = Policy.from_json(doc)
    assert Policy.from_json(policy.to_json()) == policy
    assert policy.to_json() == doc
    assert all(isinstance(lv, Level) for lv in policy.levels)
