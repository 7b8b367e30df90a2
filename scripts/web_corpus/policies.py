"""Policy grading cases: random policies (provenance-policy/v1) and facts about a verified datum,
each with the Python grading (provenance/policy.py), which the browser's must equal."""

from __future__ import annotations

import random
from typing import Any

from provenance.policy import Facts, Policy, evaluate

SIGNERS = ["0x2c7536E3605D9C16a7a3D7b1898e529396a65c23", "0x" + "ab" * 20, "0x" + "Cd" * 20]


def _level(rng: random.Random, name: str) -> dict[str, Any]:
    level: dict[str, Any] = {"name": name}
    options = {
        "signers": lambda: rng.sample(SIGNERS, rng.randint(1, 2)),
        "anchorMode": lambda: rng.choice(["direct", "checkpoint"]),
        "minConfirmations": lambda: rng.choice([0, 1, 6, 64]),
        "maxAnchorDelay": lambda: rng.choice([0, 60, 3600]),
        "qualityPass": lambda: True,
    }
    for key in rng.sample(list(options), rng.randint(0, len(options))):
        level[key] = options[key]()
    return level


def _facts(rng: random.Random, dataset: str) -> Facts:
    return Facts(
        dataset=dataset if rng.random() < 0.9 else "tm/other",
        valid=rng.random() < 0.85,
        signer=rng.choice(SIGNERS).lower() if rng.random() < 0.3 else rng.choice(SIGNERS),
        anchor_mode=rng.choice(["direct", "checkpoint", None]),
        confirmations=rng.choice([None, 0, 1, 5, 100]),
        anchor_delay=rng.choice([None, 0, 30, 3599, 3600, 3601, 90000]),
        quality_passed=rng.choice([None, True, False]),
    )


def policy_cases(rng: random.Random, count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        names = rng.sample(["published", "anchored", "final", "gold", "x-1"], rng.randint(1, 4))
        doc = {"format": "provenance-policy/v1", "dataset": "tm/ratings/daily"}
        doc["levels"] = [_level(rng, n) for n in names]
        facts = _facts(rng, doc["dataset"])
        out.append(
            {
                "policy": doc,
                "facts": {
                    "dataset": facts.dataset,
                    "valid": facts.valid,
                    "signer": facts.signer,
                    "anchorMode": facts.anchor_mode,
                    "confirmations": facts.confirmations,
                    "anchorDelay": facts.anchor_delay,
                    "qualityPassed": facts.quality_passed,
                },
                "expected": evaluate(Policy.from_json(doc), facts).to_json(),
            }
        )
    return out
