"""The direction of dependencies (docs/ARCHITECTURE.md), read from the folders, not a hand-kept list.

- the pure core (every module of ``provenance/`` outside ``chain/``, ``server/`` and ``cli/``)
  imports no chain, server, CLI or web code;
- ``chain/`` imports no server, CLI or web code;
- ``server/`` imports no CLI or web code;
- ``cli/`` imports nothing of the server stack at module level (``serve`` loads it on demand);
- HTTP routers talk to the ledger: no ``provenance.server`` module but ``ledger``;
- no import cycle among the project's modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "provenance"
API = ROOT / "api"
WEB = ("api", "fastapi", "starlette", "uvicorn")
SQL = ("sqlalchemy", "alembic", "psycopg")
LAYERS = {"chain", "server", "cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_of(path: Path) -> str:
    if path.is_relative_to(API):
        return "api"
    first = path.relative_to(PACKAGE).parts[0]
    return first if first in LAYERS else "core"


def sources() -> list[Path]:
    return sorted(p for p in [*PACKAGE.rglob("*.py"), *API.rglob("*.py")] if "migrations" not in p.parts)


def starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


FORBIDDEN = {
    "core": ("provenance.chain", "provenance.server", "provenance.cli", "web3", *WEB, *SQL),
    "chain": ("provenance.server", "provenance.cli", *WEB, *SQL),
    "server": ("provenance.cli", *WEB),
}


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    layer = layer_of(path)
    if layer in FORBIDDEN:
        bad = {m for m in imports_of(path) if starts(m, FORBIDDEN[layer])}
        assert not bad, f"{layer} module {path.relative_to(ROOT)} imports {sorted(bad)}"
    elif layer == "cli":
        # The verifier install has no server stack: the CLI may reach it only from inside `serve`.
        bad = {
            m for m in imports_of(path, top_level_only=True) if starts(m, ("provenance.server", *WEB, *SQL))
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)} at module level"


def test_only_the_serve_command_loads_the_server() -> None:
    # serve, export from a data directory and fsck load the server stack on demand (with a clear
    # error on the verifier install); no other verb may reach it.
    allowed = {"export.py": "provenance.server.bootstrap", "fsck.py": "provenance.server.fsck"}
    for path in (PACKAGE / "cli").rglob("*.py"):
        reaches = {m for m in imports_of(path) if starts(m, ("provenance.server", "api"))}
        if path.name in allowed:
            assert reaches and all(starts(m, (allowed[path.name],)) for m in reaches), reaches
        elif path.name != "serve.py":
            assert not reaches, f"{path.relative_to(ROOT)} imports {sorted(reaches)}"


ROUTERS = sorted((API / "routers").glob("*.py"))


def test_there_are_routers() -> None:
    assert len([p for p in ROUTERS if p.name != "__init__.py"]) >= 5


@pytest.mark.parametrize("path", ROUTERS, ids=lambda p: p.name)
def test_routers_talk_to_the_ledger_only(path: Path) -> None:
    bad = {
        m
        for m in imports_of(path)
        if starts(m, ("provenance.server",)) and not starts(m, ("provenance.server.ledger",))
    }
    assert not bad, f"router {path.name} imports {sorted(bad)}"


def test_no_import_cycle() -> None:
    modules = {module_name(p): p for p in sources()}
    graph = {
        name: {m for m in _project_targets(imports_of(path, top_level_only=True), modules) if m != name}
        for name, path in modules.items()
    }
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _project_targets(names: set[str], modules: dict[str, Path]) -> set[str]:
    """The project modules named by imports (``from a.b import c`` is module a.b.c or a.b)."""
    return {n for n in names if n in modules}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_readable(path: Path) -> None:
    """A module over 400 lines is a sign that two concepts share a file; a function over 60
    lines, that it does more than one thing."""
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, (
        f"{path.relative_to(ROOT)} is over {MAX_MODULE_LINES} lines"
    )
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or 0) - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.relative_to(ROOT)}: {long}"
