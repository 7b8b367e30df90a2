"""``provenance prove``: a proof bundle for one record of a snapshot directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from provenance import merkle, merkle_levels
from provenance.cli.common import errors_to_exit
from provenance.errors import InputError
from provenance.folder import SnapshotFolder
from provenance.proofs import bundle, collection, snapshot
from provenance.records.canonical import CanonicalError, key_text
from provenance.records.schema import parse_key


def bundle_for(snap: SnapshotFolder, values: list[Any]) -> dict[str, Any]:
    signed = snap.signed()
    manifest = signed.manifest
    try:
        key = key_text(values)
    except CanonicalError as e:
        raise InputError(f"--key: {e}", code="input.bad-key") from None
    index = snap.find(key)
    tree = snap.tree()
    return bundle.assemble(
        dataset=manifest.dataset,
        version=manifest.version,
        key=values,
        leaf_input=snap.entry(index),
        leaf_index=index,
        tree_size=tree.size,
        path=tree.inclusion_proof(index),
        signed_manifest=signed.to_json(),
        anchor=snap.anchor(),
    )


def _write_all(snap: SnapshotFolder) -> None:
    """Every record with its path, from one in-memory build of the folder's tree."""
    manifest = snap.manifest()
    entries = (snap.path / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    levels = merkle.build_levels(merkle.leaf_hashes(entries), threads=2)
    out = sys.stdout.buffer
    out.write(orjson.dumps(collection.jsonl_header([snapshot_proof_for(snap)], len(entries))) + b"\n")
    paths = merkle_levels.inclusion_paths(levels)
    key = manifest.schema.key
    for i, (entry, path) in enumerate(zip(entries, paths, strict=True)):
        out.write(collection.jsonl_record(0, key, entry, i, path) + b"\n")
    out.flush()


def snapshot_proof_for(snap: SnapshotFolder) -> dict[str, Any]:
    """The directory's ``provenance-snapshot-proof/v1``: signed manifest and direct anchor."""
    manifest = snap.signed().manifest
    anchor = snap.anchor()
    return snapshot.assemble(
        manifest.dataset, manifest.version, snap.signed().to_json(), None, anchor and anchor.to_json()
    )


def prove(
    directory: Annotated[Path, typer.Argument(help="Signed snapshot directory")],
    key: Annotated[str | None, typer.Option(help="Record key: VALUE[,VALUE...] or a JSON array")] = None,
    whole: Annotated[
        bool,
        typer.Option(
            "--snapshot", help="Print the snapshot proof instead (for `provenance check` on the data file)"
        ),
    ] = False,
    every: Annotated[
        bool, typer.Option("--all", help="Print a JSON Lines provenance-proofs/v1 collection of every record")
    ] = False,
) -> None:
    """Print the provenance-proof/v1 bundle for the record with KEY (with the direct anchor that
    `provenance anchor` recorded), with --snapshot the provenance-snapshot-proof/v1, or with
    --all a proof on every record (JSON Lines collection: what a publisher attaches)."""
    with errors_to_exit():
        snap = SnapshotFolder(directory)
        if sum((whole, every, key is not None)) != 1:
            raise InputError("give one of --key, --snapshot and --all", code="input.bad-arguments")
        if every:
            _write_all(snap)
            return
        doc = (
            snapshot_proof_for(snap)
            if key is None
            else bundle_for(snap, parse_key(key, snap.manifest().schema))
        )
        typer.echo(json.dumps(doc, indent=2))
