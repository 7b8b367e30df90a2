#!/usr/bin/env python3
"""Rewrite the error catalogue in docs/ARCHITECTURE.md from the code.

.venv/bin/python scripts/error_catalogue.py          # write it
.venv/bin/python scripts/error_catalogue.py --check  # exit 1 when the document is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.catalogue import DOC, render


def main() -> int:
    current = DOC.read_text()
    wanted = render(current)
    if "--check" in sys.argv:
        return 0 if wanted == current else 1
    DOC.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
