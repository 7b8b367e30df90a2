"""``provenance lineage``: the graph drawn as a tree, and a ledger that does not answer."""

from __future__ import annotations

import io

from rich.console import Console
from typer.testing import CliRunner

from provenance.chain.backends import free_port
from provenance.cli import app
from provenance.cli.lineage import render


def node(name: str, transform: str | None) -> dict[str, object]:
    return {
        "id": name,
        "root": "0x" + "ab" * 32,
        "size": 3,
        "transform": {"name": transform} if transform else None,
    }


def text_of(graph: dict[str, object]) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(render(graph))
    return buffer.getvalue()


def test_an_upstream_graph_reads_from_the_datum_down_to_the_sources() -> None:
    graph = {
        "direction": "up",
        "nodes": [
            node("tm/index/weekly@3", "index"),
            node("tm/ratings/daily@12", "ratings"),
            node("tm/prices/daily@41", None),
        ],
        "edges": [
            {"child": "tm/index/weekly@3", "parent": "tm/ratings/daily@12"},
            {"child": "tm/ratings/daily@12", "parent": "tm/prices/daily@41"},
        ],
        "truncated": True,
    }
    lines = [line.rstrip() for line in text_of(graph).splitlines()]
    assert lines[0].startswith("tm/index/weekly@3") and "(index)" in lines[0]
    assert (
        "tm/ratings/daily@12" in lines[1] and "tm/prices/daily@41" in lines[2] and "(source data)" in lines[2]
    )
    assert lines[1].index("tm/") < lines[2].index("tm/")  # indented one level deeper
    assert "cut at the node limit" in lines[-1]


def test_an_unreachable_ledger_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["lineage", "tm/x", "1", "--api", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 2
    assert "error [api.unreachable]: cannot reach http://127.0.0.1:" in result.output
    assert "Traceback" not in result.output
