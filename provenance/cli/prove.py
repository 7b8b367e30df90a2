"""``provenance prove``: a proof bundle for one record of a snapshot directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from provenance import bundle
from provenance.cli.common import errors_to_exit
from provenance.errors import InputError
from provenance.records.canonical import CanonicalError, key_text
from provenance.records.schema import CellError, Schema, convert_cell
from provenance.snapshotdir import SnapshotDir


def parse_key(text: str, schema: Schema) -> list[Any]:
    """``VALUE[,VALUE...]`` typed by the schema, or a JSON array for values with commas."""
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError as e:
            raise InputError(f"--key is not a JSON array: {e}", code="input.bad-key") from None
        if not isinstance(values, list):
            raise InputError("--key JSON must be an array", code="input.bad-key")
    else:
        raw = text.split(",")
        try:
            values = [
                convert_cell(v, schema.columns.get(c, "string"))
                for v, c in zip(raw, schema.key, strict=False)
            ]
        except CellError as e:
            raise InputError(f"--key: {e.reason}", code="input.bad-key") from None
    if len(values) != len(schema.key):
        raise InputError(
            f"--key needs {len(schema.key)} value(s) for {', '.join(schema.key)}, got {len(values)}",
            code="input.bad-key",
        )
    return values


def bundle_for(snap: SnapshotDir, values: list[Any]) -> dict[str, Any]:
    signed = snap.signed()
    manifest = signed.manifest
    try:
        key = key_text(values)
    except CanonicalError as e:
        raise InputError(f"--key: {e}", code="input.bad-key") from None
    index = snap.find(key)
    tree = snap.tree()
    return bundle.build(
        dataset=manifest.dataset,
        version=manifest.version,
        key=values,
        leaf_input=snap.entry(index),
        leaf_index=index,
        tree_size=tree.size,
        path=tree.inclusion_proof(index),
        signed_manifest=signed.to_json(),
    )


def prove(
    directory: Annotated[Path, typer.Argument(help="Signed snapshot directory")],
    key: Annotated[str, typer.Option(help="Record key: VALUE[,VALUE...] or a JSON array")],
) -> None:
    """Print the provenance-proof/v1 bundle for the record with KEY."""
    with errors_to_exit():
        snap = SnapshotDir(directory)
        doc = bundle_for(snap, parse_key(key, snap.manifest().schema))
        typer.echo(json.dumps(doc, indent=2))
