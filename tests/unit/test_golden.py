"""Golden bundles of every released format version still verify and are still produced as-is."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from provenance.proofs import bundle
from provenance.proofs.verify import Policy, verify_bundle
from tests.vectors import VECTORS

GOLDEN = sorted((VECTORS / "bundles").glob("v*/*.json"))


def load_generator():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parents[2] / "scripts" / "make_golden.py"
    spec = importlib.util.spec_from_file_location("make_golden", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_golden_bundles() -> None:
    assert len(GOLDEN) >= 3


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_bundle_verifies(path: Path) -> None:
    verdict = verify_bundle(bundle.parse(path.read_bytes()), policy=Policy(offline=True))
    assert verdict.status == "valid", verdict.to_json()


def test_current_code_produces_the_v1_golden_bytes() -> None:
    """A change here is a format change: introduce v2, keep v1 verifying, never edit v1."""
    for name, text in load_generator().golden().items():
        assert (VECTORS / "bundles" / "v1" / name).read_text() == text + "\n", name
