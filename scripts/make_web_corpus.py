"""Write the differential corpus of the browser verifier (web/src/verify/): every golden bundle and
collection, documents derived from them, and deterministic tamperings of all of them, each with
the verdict of the Python verifier, which is the reference (tests/web/verify.test.mjs).

Usage: python scripts/make_web_corpus.py OUT.json [--seed N] [--per-base N] [--jobs N]
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from web_corpus.chain import chain_cases  # noqa: E402
from web_corpus.chain_scenarios import checkpoint_scenarios, direct_scenarios  # noqa: E402
from web_corpus.policies import policy_cases  # noqa: E402
from web_corpus.quality import quality_variants  # noqa: E402
from web_corpus.shapes import DOC_OPS, TEXT_OPS, targeted  # noqa: E402
from web_corpus.signed import big_numbers, exotic, signed_variants  # noqa: E402

from provenance.errors import ProvenanceError  # noqa: E402
from provenance.proofs import bundle, collection  # noqa: E402
from provenance.proofs.collection_verify import verify_collection  # noqa: E402
from provenance.proofs.verify import Policy, verify_bundle  # noqa: E402
from tests import factories  # noqa: E402

BUNDLES = ROOT / "tests" / "vectors" / "bundles" / "v1"
COLLECTIONS = ROOT / "tests" / "vectors" / "collections" / "v1"
OFFLINE = {"offline": True, "logKeys": []}


def expected(kind: str, text: str, options: dict[str, Any]) -> dict[str, Any]:
    """The Python verifier's answer, as the JS must give it."""
    policy = Policy(offline=options["offline"], log_keys=tuple(options["logKeys"]))
    data = text.encode("utf-8", "surrogatepass")
    try:
        parsed = (bundle.parse if kind == "bundle" else collection.parse)(data)
    except ProvenanceError as e:
        return {"status": "unusable", "code": e.code}
    except Exception as e:  # not a verdict: a bug of the Python verifier, which the JS mirrors
        return {"status": "crash", "exception": type(e).__name__}
    try:
        if kind == "bundle":
            return verify_bundle(parsed, policy=policy).to_json()  # type: ignore[arg-type]
        return verify_collection(parsed, policy=policy).to_json()  # type: ignore[arg-type]
    except Exception as e:
        return {"status": "crash", "exception": type(e).__name__}


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


Base = tuple[str, str, str, int]  # name, kind, text, how many tamperings


def golden(per_base: int) -> Iterator[Base]:
    for path in sorted(BUNDLES.glob("*.json")):
        yield f"bundle/{path.stem}", "bundle", path.read_text(), per_base
    for path in sorted(COLLECTIONS.glob("*.json")):
        yield f"collection/{path.stem}", "collection", path.read_text(), per_base


def derived(bases: list[Base], per_base: int) -> Iterator[Base]:
    """Documents the golden ones do not show: a bundle with upstream bundles, anchors, a
    collection without lineage, a truncated one; and, with fewer tamperings each, documents
    signed again to reach one check, records with exotic values, one over the size limit."""
    docs = {name: json.loads(text) for name, _, text, _ in bases}
    shapes = list(lineage_shapes(bases, per_base))
    yield from shapes
    for name, kind, text, _ in [*bases, *shapes]:
        for variant, doc in targeted(name, json.loads(text)):
            yield f"{name}/{variant}", kind, dumps(doc), 0
    with_log, no_log = docs["bundle/plain-with-log"], docs["bundle/plain-no-log"]
    yield (
        "bundle/checkpoint-anchored",
        "bundle",
        dumps({**with_log, "anchor": anchor("checkpoint")}),
        per_base,
    )
    yield "bundle/direct-anchored", "bundle", dumps({**no_log, "anchor": anchor("direct")}), per_base
    few = max(per_base // 7, 1)
    for variant, doc in signed_variants(with_log):
        yield f"bundle/plain-with-log/{variant}", "bundle", dumps(doc), few
    for variant, doc in quality_variants(docs["bundle/quality-with-log"]):
        yield f"bundle/quality-with-log/{variant}", "bundle", dumps(doc), 0
    for variant, doc in big_numbers(no_log):
        yield f"bundle/plain-no-log/{variant}", "bundle", dumps(doc), few
    for variant, doc in [*exotic(with_log=False), *exotic(with_log=True)]:
        yield f"bundle/{variant}-{'log' if doc['log'] else 'no-log'}", "bundle", dumps(doc), few
    yield "bundle/too-large", "bundle", dumps(no_log) + " " * (16 << 20), 0


def lineage_shapes(bases: list[Base], per_base: int) -> Iterator[Base]:
    """Of each golden collection: its root record as a bundle with its upstream bundles, the
    collection without its lineage fields, and the collection marked truncated."""
    for name, _, text, _ in bases:
        if name.startswith("collection/"):
            doc, parsed = json.loads(text), collection.parse(text)
            root = collection.cut_out(parsed, 0)
            root["upstream"] = [collection.cut_out(parsed, i) for i in range(1, len(parsed.records))]
            yield f"{name}/as-bundle-with-upstream", "bundle", dumps(root), per_base
            plain = {k: v for k, v in doc.items() if k not in ("root", "depth")}
            yield f"{name}/without-lineage", "collection", dumps(plain), per_base
            yield f"{name}/truncated", "collection", dumps({**doc, "truncated": True}), per_base


def anchor(mode: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mode": mode,
        "chainId": 31337,
        "contract": factories.DOMAIN.verifying_contract,
        "txHash": "0x" + "ab" * 32,
        "blockNumber": 12,
        "blockHash": "0x" + "cd" * 32,
    }
    if mode == "checkpoint":
        out["checkpointIndex"] = 3
    return out


def anchored() -> Iterator[tuple[str, dict[str, Any], dict[str, Any], int]]:
    """The chain scenarios, over the golden bundles with an anchor of either mode."""
    with_log = json.loads((BUNDLES / "plain-with-log.json").read_text())
    no_log = json.loads((BUNDLES / "plain-no-log.json").read_text())
    yield from checkpoint_scenarios({**with_log, "anchor": anchor("checkpoint")})
    yield from direct_scenarios({**no_log, "anchor": anchor("direct")})


def tampered(kind: str, text: str, rng: random.Random, count: int) -> Iterator[tuple[str, str]]:
    """``count`` tamperings of one document: structural ones on the parsed JSON, lexical ones on
    its text."""
    doc = json.loads(text)
    ops: list[tuple[str, Callable[..., Any]]] = [*DOC_OPS, *TEXT_OPS]
    for i in range(count):
        name, op = ops[rng.randrange(len(ops))]
        if (name, op) in TEXT_OPS:
            out = op(text, rng)
        else:
            changed = copy.deepcopy(doc)
            result = op(changed, rng)
            out = None if result is None else dumps(result)
        if out is not None and out != text:
            yield f"{i:03d}-{name}", out


def options_for(rng: random.Random) -> dict[str, Any]:
    """Mostly offline; sometimes online without a chain, or with pinned log keys."""
    roll = rng.random()
    if roll < 0.8:
        return OFFLINE
    if roll < 0.88:
        return {"offline": False, "logKeys": []}
    keys = [factories.log_signer().verifier_key(), "other.example/log+00000000+AQ==", "nonsense"]
    return {"offline": rng.random() < 0.5, "logKeys": rng.sample(keys, rng.randint(1, 2))}


def corpus(seed: int, per_base: int, jobs: int) -> list[dict[str, Any]]:
    bases = list(golden(per_base))
    bases += list(derived(bases, per_base))
    cases, seen = [], set()
    for b, (name, kind, text, count) in enumerate(bases):
        rng = random.Random(seed * 1000 + b)
        variants = [("as-is", text), *tampered(kind, text, rng, count)]
        for label, variant in variants:
            options = OFFLINE if label == "as-is" else options_for(rng)
            key = (kind, variant, json.dumps(options))
            if key not in seen:
                seen.add(key)
                cases.append({"name": f"{name}/{label}", "kind": kind, "text": variant, "options": options})
    work = [(c["kind"], c["text"], c["options"]) for c in cases]
    with multiprocessing.Pool(jobs) as pool:
        verdicts = pool.starmap(expected, work, chunksize=16)
    return [{**c, "expected": v} for c, v in zip(cases, verdicts, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=9162)
    parser.add_argument("--per-base", type=int, default=70)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    cases = corpus(args.seed, args.per_base, args.jobs)
    chain = chain_cases(anchored())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    policies = policy_cases(random.Random(args.seed), 400)
    args.out.write_text(
        json.dumps({"seed": args.seed, "cases": cases, "chainCases": chain, "policyCases": policies})
    )
    statuses: dict[str, int] = {}
    for c in cases:
        statuses[c["expected"]["status"]] = statuses.get(c["expected"]["status"], 0) + 1
    print(f"{len(cases)} cases and {len(chain)} chain cases -> {args.out} ({statuses})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
