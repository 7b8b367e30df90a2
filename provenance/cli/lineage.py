"""``provenance lineage``: a version's parents or children, asked of a running ledger."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated, Any

import typer
from rich.tree import Tree

from provenance.cli.api_client import get_json
from provenance.cli.common import errors_to_exit, out
from provenance.errors import ConfigError, InputError


def lineage(
    dataset: Annotated[str, typer.Argument(help="Dataset name")],
    version: Annotated[int, typer.Argument(help="Version")],
    api: Annotated[str, typer.Option(help="URL of the ledger's HTTP API")] = "http://127.0.0.1:8000",
    direction: Annotated[str, typer.Option(help="up: parents; down: who used it")] = "up",
    depth: Annotated[int, typer.Option(help="Steps to walk")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON")] = False,
) -> None:
    """Print a version's lineage graph (parents, or children with --direction down)."""
    with errors_to_exit():
        if direction not in ("up", "down"):
            raise InputError("--direction must be up or down", code="input.bad-option")
        query = urllib.parse.urlencode({"direction": direction, "depth": depth})
        graph = get_json(f"{api.rstrip('/')}/v1/datasets/{dataset}/versions/{version}/lineage?{query}")
        if as_json:
            typer.echo(json.dumps(graph, indent=2))
            return
        out.print(render(graph))


def render(graph: dict[str, Any]) -> Tree:
    """The graph as a tree from its first node (a node reached twice is shown under each)."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    up = graph["direction"] == "up"
    below: dict[str, list[str]] = {}
    for e in graph["edges"]:
        a, b = (e["child"], e["parent"]) if up else (e["parent"], e["child"])
        below.setdefault(a, []).append(b)
    start = graph["nodes"][0]["id"]
    tree = Tree(_label(nodes[start]))
    _grow(tree, start, below, nodes, {start})
    if graph["truncated"]:
        tree.add("[yellow]… cut at the node limit[/]")
    return tree


def _grow(tree: Tree, node: str, below: dict[str, list[str]], nodes: dict[str, Any], path: set[str]) -> None:
    for nxt in below.get(node, []):
        branch = tree.add(_label(nodes[nxt]))
        if nxt not in path:
            _grow(branch, nxt, below, nodes, path | {nxt})


def _label(node: dict[str, Any]) -> str:
    transform = node["transform"]["name"] if node["transform"] else "source data"
    return f"{node['id']}  root {node['root'][:18]}…  {node['size']} records  ({transform})"


EXPORTS = ("prov", "openlineage")


def export_lineage(
    path: Annotated[
        str, typer.Argument(metavar="COLLECTION", help="A lineage collection (provenance-proofs/v1)")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="prov (W3C PROV-JSON) or openlineage (run events)")
    ] = "prov",
) -> None:
    """Write a verified lineage collection as W3C PROV-JSON or OpenLineage run events (JSON Lines)."""
    from provenance.cli.verify import read_document
    from provenance.proofs import collection

    with errors_to_exit():
        if fmt not in EXPORTS:
            raise InputError(f"--format must be one of {', '.join(EXPORTS)}", code="input.bad-option")
        doc = collection.from_json(read_document(path, 1 << 30)).raw
        try:
            if fmt == "prov":
                from provenance.exports.prov import to_prov

                typer.echo(json.dumps(to_prov(doc), indent=2))
                return
            from provenance.exports.openlineage import to_openlineage

            for event in to_openlineage(doc):
                typer.echo(json.dumps(event))
        except ModuleNotFoundError as e:
            raise ConfigError(
                f"exports need the export install ({e.name} is missing): "
                "pip install 'provenance-ledger[export]'",
                code="config.export-not-installed",
            ) from None
