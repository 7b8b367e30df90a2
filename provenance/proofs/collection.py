"""``provenance-proofs/v1``: record proofs that share their snapshots' sections.

A collection holds each snapshot's ``provenance-snapshot-proof/v1`` (signed manifest, log
inclusion and signed checkpoint, anchor) once, and records that point at one of them. Record *i*
with its snapshot is exactly a ``provenance-proof/v1`` bundle (:func:`cut_out`). Used for a datum's
lineage (``root`` is the datum; each record's ``derived_from`` refs are the edges) and for
publishing a whole version with a proof on every record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import orjson

from provenance.errors import FormatError
from provenance.proofs import snapshot
from provenance.proofs.bundle import BUNDLE_FORMAT
from provenance.records.canonical import CanonicalError, key_text
from provenance.strict_json import MAX_DOCUMENT_BYTES, loads

COLLECTION_FORMAT = "provenance-proofs/v1"
MAX_COLLECTION_BYTES = 1 << 30


@dataclass(frozen=True)
class Collection:
    snapshots: tuple[dict[str, Any], ...]
    records: tuple[dict[str, Any], ...]
    root: int | None
    truncated: bool
    raw: dict[str, Any]


@cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("provenance").joinpath("schemas/provenance-proofs-v1.schema.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


def is_collection(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == COLLECTION_FORMAT


def parse(text: str | bytes, *, max_bytes: int = MAX_COLLECTION_BYTES) -> Collection:
    """Parse a collection; structure only (verification cuts records out as bundles).

    Raises:
        FormatError: not JSON, not a collection, or a record pointing at no snapshot.
    """
    return from_json(loads(text, max_bytes=max(max_bytes, MAX_DOCUMENT_BYTES)))


def from_json(doc: Any) -> Collection:
    if not is_collection(doc):
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise FormatError(
            f"not a {COLLECTION_FORMAT} collection (format: {found!r})", code="collection.unsupported"
        )
    error = next(iter(sorted(_validator().iter_errors(doc), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise FormatError(f"collection invalid at {where}: {error.message}", code="collection.malformed")
    snapshots, records = doc["snapshots"], doc["records"]
    for i, snap in enumerate(snapshots):
        if not isinstance(snap["manifest"], dict) or not isinstance(snap["manifest"].get("manifest"), dict):
            raise FormatError(f"snapshot {i} has no manifest object", code="collection.malformed")
    for i, r in enumerate(records):
        _check_record(i, r, len(snapshots))
    root = doc.get("root")
    if root is not None and (type(root) is not int or root >= len(records)):
        raise FormatError(f"root {root} is not a record of the collection", code="collection.malformed")
    return Collection(tuple(snapshots), tuple(records), root, bool(doc.get("truncated", False)), doc)


def _check_record(i: int, r: dict[str, Any], snapshots: int) -> None:
    """What verification indexes by or hashes: refused here, so a verdict never crashes on it
    (JSON Schema's "integer" takes 0.0, and a key must have an RFC 8785 form to be looked up)."""
    if type(r["snapshot"]) is not int or r["snapshot"] >= snapshots:
        raise FormatError(
            f"record {i} points at snapshot {r['snapshot']}, of {snapshots}", code="collection.malformed"
        )
    refs = r["entry"].get("derived_from")
    keys = (
        [r["key"], *(ref["key"] for ref in refs if isinstance(ref, dict) and "key" in ref)]
        if isinstance(refs, list)
        else [r["key"]]
    )
    for key in keys:
        try:
            key_text(list(key) if isinstance(key, list) else [key])
        except CanonicalError as e:
            raise FormatError(
                f"record {i}: a key has no RFC 8785 form: {e}", code="collection.malformed"
            ) from None


def cut_out(collection: Collection, index: int) -> dict[str, Any]:
    """Record ``index`` as a standalone ``provenance-proof/v1`` bundle."""
    rec = collection.records[index]
    snap = collection.snapshots[rec["snapshot"]]
    size = snap["manifest"].get("manifest", {}).get("size") if isinstance(snap["manifest"], dict) else None
    return {
        "format": BUNDLE_FORMAT,
        "record": {
            "dataset": snap["dataset"],
            "version": snap["version"],
            "key": rec["key"],
            "entry": rec["entry"],
            "leafIndex": rec["leafIndex"],
            "treeSize": size,
            "inclusionPath": rec["inclusionPath"],
        },
        "manifest": snap["manifest"],
        "log": snap["log"],
        "anchor": snap["anchor"],
    }


def jsonl_header(snapshots: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """The first line of a JSON Lines collection: its snapshot proofs and how many record lines
    follow (a reader knows a cut-off file by the count)."""
    return {"format": COLLECTION_FORMAT, "layout": "jsonl", "snapshots": snapshots, "recordCount": count}


def jsonl_record(
    snapshot_index: int, key_columns: Sequence[str], entry: bytes, leaf_index: int, path: Sequence[bytes]
) -> bytes:
    """One record line of a JSON Lines collection; ``entry`` is the canonical leaf input."""
    record = orjson.loads(entry)["record"]
    head = orjson.dumps(
        {
            "snapshot": snapshot_index,
            "key": [record[c] for c in key_columns],
            "leafIndex": leaf_index,
            "inclusionPath": ["0x" + h.hex() for h in path],
        }
    )
    # the entry as its canonical bytes, verbatim: what the leaf hash is taken of
    return head[:-1] + b',"entry":' + entry + b"}"


def of_bundles(
    bundles: list[dict[str, Any]],
    *,
    root: int | None = None,
    truncated: bool = False,
    depth: int | None = None,
) -> dict[str, Any]:
    """A collection of bundle documents, each snapshot's sections once."""
    index: dict[tuple[str, int], int] = {}
    snapshots: list[dict[str, Any]] = []
    records = []
    for b in bundles:
        rec = b["record"]
        at = (rec["dataset"], rec["version"])
        if at not in index:
            index[at] = len(snapshots)
            snapshots.append(snapshot.of_bundle(b))
        records.append(
            {
                "snapshot": index[at],
                "key": rec["key"],
                "entry": rec["entry"],
                "leafIndex": rec["leafIndex"],
                "inclusionPath": rec["inclusionPath"],
            }
        )
    doc: dict[str, Any] = {"format": COLLECTION_FORMAT, "snapshots": snapshots, "records": records}
    if root is not None:
        doc["root"] = root
    if depth is not None:
        doc["depth"] = depth
    if truncated:
        doc["truncated"] = True
    return doc
