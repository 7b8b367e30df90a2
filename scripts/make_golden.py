"""Regenerate the golden bundles (tests/vectors/bundles/v1/) and collections
(tests/vectors/collections/v1/) from deterministic keys and data.

Run only when a *new* format version is introduced; tests compare freshly built bundles with
these files, so a format can never change silently. Usage: python scripts/make_golden.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import factories as f  # noqa: E402

OUT = ROOT / "tests" / "vectors" / "bundles" / "v1"
COLLECTIONS = ROOT / "tests" / "vectors" / "collections" / "v1"


def golden() -> dict[str, str]:
    plain, salted = f.snapshot(), f.snapshot(salted=True)
    return {
        "plain-with-log.json": f.dumps(f.proof_bundle(plain, 1)),
        "salted-with-log.json": f.dumps(f.proof_bundle(salted, 4)),
        "plain-no-log.json": f.dumps(f.proof_bundle(plain, 6, with_log=False)),
        # a provenance-manifest/v2: a schema with quality rules, one warn rule failing
        "quality-with-log.json": f.dumps(f.proof_bundle(f.snapshot(rules=f.QUALITY_RULES), 2)),
    }


def golden_collections() -> dict[str, str]:
    line = f.lineage()
    return {
        "lineage-btc-depth1.json": f.dumps(f.lineage_collection(line, 0)),
        "lineage-eth-depth1.json": f.dumps(f.lineage_collection(line, 1)),
    }


if __name__ == "__main__":
    for folder, docs in ((OUT, golden()), (COLLECTIONS, golden_collections())):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in docs.items():
            (folder / name).write_text(text + "\n")
            print("wrote", folder / name)
