"""docs/ARCHITECTURE.md cannot go stale: its error catalogue is the one the code gives, and every
module it names exists."""

from __future__ import annotations

import re

from tests.catalogue import DOC, ROOT, raise_sites, render


def test_error_catalogue_matches_the_code() -> None:
    doc = DOC.read_text()
    assert render(doc) == doc, "run: .venv/bin/python scripts/error_catalogue.py"


def test_catalogue_has_every_code_once_with_a_status() -> None:
    entries = raise_sites()
    codes = [e.code for e in entries]
    assert len(codes) == len(set(codes)) and len(codes) > 80
    by_code = {e.code: e for e in entries}
    assert (by_code["auth.required"].status, by_code["auth.forbidden"].status) == (401, 403)
    assert by_code["snapshot.in-progress"].status == 409
    assert by_code["proof.root-mismatch"].exit == 1 and by_code["input.duplicate-key"].exit == 2


def test_every_module_the_doc_names_exists() -> None:
    named = set(re.findall(r"`((?:provenance|api)/[\w/]+\.py)`", DOC.read_text()))
    assert len(named) > 20
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, missing
