"""Lineage: where a snapshot and each of its records came from.

A derived snapshot names its *parents* (upstream snapshots, each pinned by root) and the
*transform* that produced it, both inside the signed manifest; a record may cite the upstream
records it was computed from in its entry's ``derived_from`` refs, so the citation is part of the
signed leaf. This module holds those formats and the rules a lineage edge must satisfy; it is
pure (no store, chain or web code), so the ledger, the verifier and the CLI share one reading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import rfc8785

from provenance.datasets import dataset_id
from provenance.errors import FormatError, InputError, SignatureError
from provenance.fields import ZERO32, bytes32, check_bytes32, check_uint64, hex_str
from provenance.records.canonical import key_text

# --- transforms --------------------------------------------------------------------------------


def transform_hash(transform: dict[str, Any] | None) -> bytes:
    """``SHA-256(RFC8785(transform))``, or 32 zero bytes for source data."""
    return ZERO32 if transform is None else hashlib.sha256(rfc8785.dumps(transform)).digest()


def check_transform(transform: Any) -> dict[str, Any] | None:
    if transform is None:
        return None
    if (
        not isinstance(transform, dict)
        or set(transform) != {"name", "code", "params"}
        or not isinstance(transform["name"], str)
        or not isinstance(transform["code"], str)
        or not isinstance(transform["params"], dict)
    ):
        raise FormatError(
            'transform must be {"name": str, "code": str, "params": object}', code="manifest.bad-transform"
        )
    return transform


# --- parents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parent:
    """An upstream snapshot this one was derived from."""

    dataset_id: bytes
    version: int
    root: bytes
    dataset: str | None = None  # the name, when known; must hash to dataset_id

    def __post_init__(self) -> None:
        check_bytes32(self.dataset_id, "parent datasetId")
        check_bytes32(self.root, "parent root")
        check_uint64(self.version, "parent version", minimum=1)
        if self.dataset is not None and dataset_id(self.dataset) != self.dataset_id:
            raise FormatError(
                f"parent dataset {self.dataset!r} does not hash to its datasetId",
                code="manifest.inconsistent",
            )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "datasetId": hex_str(self.dataset_id),
            "version": self.version,
            "root": hex_str(self.root),
        }
        if self.dataset is not None:
            out["dataset"] = self.dataset
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Parent:
        if not isinstance(obj, dict) or set(obj) - {"dataset", "datasetId", "version", "root"}:
            raise FormatError(
                "parent must be {dataset?, datasetId, version, root}", code="manifest.malformed"
            )
        return cls(
            bytes32(obj.get("datasetId"), "parent datasetId"),
            obj.get("version"),  # type: ignore[arg-type]
            bytes32(obj.get("root"), "parent root"),
            obj.get("dataset"),
        )


def parse_parent_spec(text: str) -> Parent:
    """A parent given on the command line: ``name@version:0x<root>``.

    Raises:
        InputError: ``input.bad-option`` for any other form.
    """
    try:
        name, rest = text.split("@", 1)
        version, root = rest.split(":", 1)
        return Parent(dataset_id(name), int(version), bytes.fromhex(root.removeprefix("0x")), name)
    except ValueError:
        raise InputError(
            f"--parent {text!r} must be name@version:0x<root>", code="input.bad-option"
        ) from None


def check_parent_roots(parents: Sequence[Parent], root_of: Callable[[str, int], bytes]) -> None:
    """Every named parent's signed root must be the root this ledger holds for it.

    Raises:
        SignatureError: ``signature.parent-mismatch``, naming the parent.
    """
    for p in parents:
        if p.dataset is None:
            continue
        held = root_of(p.dataset, p.version)
        if held != p.root:
            raise SignatureError(
                f"parent {p.dataset} v{p.version} has root {held.hex()} here",
                code="signature.parent-mismatch",
            )


# --- record-level lineage ------------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """What the lineage check needs of one upstream record and its verification."""

    dataset: str
    version: int
    key: tuple[Any, ...]
    dataset_id: bytes
    root: bytes
    status: str  # the upstream verdict: "valid", "invalid", "incomplete"


def check_refs(
    refs: Sequence[dict[str, Any]], parents: Sequence[Parent], upstream: Sequence[Upstream]
) -> tuple[str, str] | None:
    """The first broken edge among ``refs`` as ``(reason code, detail)``, or None when each ref has
    a valid upstream record whose snapshot is a parent of the citing one."""
    by_ref = {(u.dataset, u.version, key_text(list(u.key))): u for u in upstream}
    for ref in refs:
        found = by_ref.get((ref["dataset"], ref["version"], key_text(list(ref["key"]))))
        if found is None:
            return (
                "lineage.missing-upstream",
                f"no upstream bundle for {ref['dataset']} v{ref['version']} {ref['key']}",
            )
        if found.status != "valid":
            return (
                "lineage.upstream-invalid",
                f"upstream bundle for {ref['dataset']} v{ref['version']} is {found.status}",
            )
        if not any(
            p.dataset_id == found.dataset_id and p.version == found.version and p.root == found.root
            for p in parents
        ):
            return (
                "lineage.not-a-parent",
                f"{ref['dataset']} v{ref['version']} is not a parent in the manifest",
            )
    return None
