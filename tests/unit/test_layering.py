"""The direction of dependencies (DESIGN §4): the pure core imports no store, chain or web code,
and nothing in provenance/ imports the web layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "provenance"
PURE = ["merkle.py", "records", "manifest.py", "checkpoint.py", "bundle.py", "errors.py", "snapshot.py"]


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def files(entry: str) -> list[Path]:
    path = PACKAGE / entry
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


@pytest.mark.parametrize("entry", PURE)
def test_pure_modules_import_no_store_chain_or_web(entry: str) -> None:
    for path in files(entry):
        bad = {
            m
            for m in imports_of(path)
            if m.startswith(
                (
                    "provenance.store",
                    "provenance.chain",
                    "provenance.ledger",
                    "provenance.service",
                    "api",
                    "fastapi",
                    "sqlalchemy",
                    "web3",
                )
            )
        }
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_core_never_imports_the_web_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        bad = {m for m in imports_of(path) if m == "api" or m.startswith(("api.", "fastapi", "starlette"))}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
