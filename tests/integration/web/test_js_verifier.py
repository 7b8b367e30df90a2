"""The browser verifier (web/src/verify/) gives the Python verifier's verdict and reason codes on
every document of a generated corpus: the golden bundles and collections, documents derived
from them, and over a thousand tamperings (scripts/make_web_corpus.py, tests/web/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NODE = shutil.which("node")


def test_js_verifier_agrees_with_python(tmp_path: Path) -> None:
    assert NODE is not None, "the browser verifier's tests need Node 20 (node on PATH)"
    corpus = tmp_path / "corpus.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_web_corpus.py"), str(corpus)],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    cases = json.loads(corpus.read_text())["cases"]
    assert len(cases) >= 1000
    run = subprocess.run(
        [str(NODE), "--test", "tests/web/"],
        cwd=ROOT,
        env={**os.environ, "WEB_CORPUS": str(corpus)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
