"""SECURITY.md backs each claim with a test by name: every test it names must exist where it says,
so a claim cannot outlive the test that shows it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_security_md_names_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", text)
    assert len(named) >= 20
    for path, name in named:
        source = (ROOT / path).read_text()
        found = re.search(rf"^def {name}\(", source, re.M)
        assert found, f"SECURITY.md names {path}::{name}, which is not there"
