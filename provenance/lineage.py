"""Lineage: where a snapshot and each of its records came from.

A derived snapshot names its *parents* (upstream snapshots, each pinned by root) and the
*transform* that produced it, both inside the signed manifest; a record may cite the upstream
records it was computed from in its entry's ``derived_from`` refs, so the citation is part of the
signed leaf. This module holds those formats and the rules a lineage edge must satisfy; it is
pure (no store, chain or web code), so the ledger, the verifier and the CLI share one reading.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import rfc8785

from provenance import strict_json
from provenance.datasets import check_dataset_name, dataset_id
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
    status: str  # the upstream verdict: "valid", "invalid", "retracted", "incomplete"
    leaf: bytes = b""  # the upstream record's leaf hash, recomputed from its entry


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
        broken = check_edge(ref, parents, found)
        if broken is not None:
            return broken
    return None


def check_edge(ref: dict[str, Any], parents: Sequence[Parent], found: Upstream) -> tuple[str, str] | None:
    """One lineage edge: the ref's pinned leaf is the upstream record's, the upstream record
    verified, and its snapshot (by id, version and root) is a parent in the citing manifest."""
    pinned = ref.get("leaf")
    if pinned is not None and pinned != hex_str(found.leaf):
        return (
            "lineage.leaf-mismatch",
            f"the ref pins leaf {pinned}, the upstream record's is {hex_str(found.leaf)}",
        )
    if found.status == "retracted":
        return (
            "lineage.upstream-retracted",
            f"the upstream snapshot {found.dataset}@{found.version} was retracted by its source",
        )
    if found.status != "valid":
        return ("lineage.upstream-invalid", f"the upstream record is {found.status}")
    if not any(
        p.dataset_id == found.dataset_id and p.version == found.version and p.root == found.root
        for p in parents
    ):
        upstream = f"{ref['dataset']} v{ref['version']} (root {hex_str(found.root)})"
        return ("lineage.not-a-parent", f"{upstream} is not a parent in the citing manifest")
    return None


# --- transforms as given by a publisher ----------------------------------------------------------

_CODE = re.compile(r"git:[0-9a-f]{40}|sha256:[0-9a-f]{64}")


def check_transform_code(transform: dict[str, Any]) -> dict[str, Any]:
    """A new transform's ``code`` must pin the program: ``git:<40 hex>`` or ``sha256:<64 hex>``.

    (Manifests already signed keep verifying whatever their code says; this is for new ones.)

    Raises:
        InputError: ``lineage.bad-transform-code``.
    """
    checked = check_transform(transform)
    assert checked is not None
    if not _CODE.fullmatch(checked["code"]):
        raise InputError(
            f"transform code {checked['code']!r} must be git:<40 hex commit> or sha256:<64 hex file digest>",
            code="lineage.bad-transform-code",
        )
    return checked


def transform_of_file(name: str, program: Path, params: dict[str, Any]) -> dict[str, Any]:
    """The transform of a program file: its code is the file's SHA-256."""
    digest = hashlib.sha256(program.read_bytes()).hexdigest()
    return check_transform_code({"name": name, "code": f"sha256:{digest}", "params": params})


def parse_parent_names(text: str) -> tuple[tuple[str, int], ...]:
    """Parents as a publisher names them: ``tm/prices/daily@41,tm/onchain/daily@41``.

    Raises:
        InputError: ``input.bad-parent`` for an item that is not ``name@version``.
    """
    out = []
    for item in (part.strip() for part in text.split(",")):
        name, sep, version = item.rpartition("@")
        if not (sep and name and version.isdigit() and int(version) >= 1):
            raise InputError(f"parent {item!r} must be name@version", code="input.bad-parent")
        out.append((check_dataset_name(name), int(version)))
    if len(set(out)) != len(out):
        raise InputError("a parent is named twice", code="input.bad-parent")
    return tuple(out)


# --- datum refs ----------------------------------------------------------------------------------

MAX_REFS_PER_RECORD = 64


class RawRef(NamedTuple):
    """A ref as a record gives it, before the ledger pins the upstream leaf (a named tuple: a
    derived upload makes one per record, and a frozen dataclass cost ~1 µs each to build)."""

    dataset: str
    version: int
    key: tuple[Any, ...]
    key_text: bytes

    def label(self) -> str:
        return f"{self.dataset}@{self.version} key {self.key_text.decode()}"


def parse_raw_refs(value: Any, max_refs: int = MAX_REFS_PER_RECORD) -> tuple[RawRef, ...]:
    """The refs of one record: a list of ``{"dataset", "version", "key"}``, at most ``max_refs``,
    sorted by (dataset, version, key text) and unique.

    Raises:
        ValueError: with the reason (the reader adds file, line and field).
    """
    if isinstance(value, str):  # CSV and Parquet carry the list as JSON text
        value = strict_json.loads(value)
    if not isinstance(value, list):
        raise RefProblem("must be a list of {dataset, version, key}", "lineage.bad-ref")
    if len(value) > max_refs:
        raise RefProblem(
            f"{len(value)} refs, over the limit of {max_refs} per record", "lineage.too-many-refs"
        )
    if len(value) == 1:  # the common case: nothing to sort or compare
        return (_raw_ref(0, value[0]),)
    refs = sorted((_raw_ref(i, item) for i, item in enumerate(value)), key=_ref_order)
    for a, b in itertools.pairwise(refs):
        if _ref_order(a) == _ref_order(b):
            raise RefProblem(f"ref {a.label()} is given twice", "lineage.duplicate-ref")
    return tuple(refs)


class RefProblem(ValueError):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


_REF_FIELDS = frozenset(("dataset", "version", "key"))


def _raw_ref(i: int, item: Any) -> RawRef:
    if not (isinstance(item, dict) and item.keys() == _REF_FIELDS):
        raise RefProblem(f"ref {i + 1} must be exactly {{dataset, version, key}}", "lineage.bad-ref")
    dataset, version, key = item["dataset"], item["version"], item["key"]
    if not (isinstance(dataset, str) and type(version) is int and version >= 1):
        raise RefProblem(f"ref {i + 1} needs a dataset name and a version >= 1", "lineage.bad-ref")
    if not (isinstance(key, list) and key):
        raise RefProblem(f"ref {i + 1} needs its key as a non-empty list of values", "lineage.bad-ref")
    return RawRef(dataset, version, tuple(key), key_text(key))


def _ref_order(ref: RawRef) -> tuple[str, int, bytes]:
    return (ref.dataset, ref.version, ref.key_text)


class UpstreamIndex(Protocol):
    """Leaf hashes of one upstream snapshot's records, by key text."""

    def leaf_hash(self, key_text: bytes) -> bytes | None: ...


def pin_refs(refs: Sequence[RawRef], parents: Mapping[tuple[str, int], UpstreamIndex]) -> bytes:
    """The entry's ``derived_from`` as RFC 8785 bytes: each ref with the upstream record's leaf
    hash pinned, in the refs' order (sorted and unique already).

    Built by concatenation, which is exact: the members are written in RFC 8785 order
    (dataset < key < leaf < version), the key is its canonical text, the dataset a checked ASCII
    name and the leaf lowercase hex.

    Raises:
        RefProblem: ``lineage.not-a-parent`` or ``lineage.unknown-key``, naming the ref.
    """
    out = []
    for ref in refs:
        index = parents.get((ref.dataset, ref.version))
        if index is None:
            raise RefProblem(
                f"ref {ref.label()}: {ref.dataset}@{ref.version} is not a parent", "lineage.not-a-parent"
            )
        leaf = index.leaf_hash(ref.key_text)
        if leaf is None:
            raise RefProblem(f"ref {ref.label()}: no such record upstream", "lineage.unknown-key")
        out.append(
            b'{"dataset":"%s","key":%s,"leaf":"0x%s","version":%d}'
            % (ref.dataset.encode(), ref.key_text, leaf.hex().encode(), ref.version)
        )
    return b"[" + b",".join(out) + b"]"


# --- lineage graphs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Graph:
    """Nodes reached from a start node (itself first), the edges walked (child, parent), and
    whether the walk stopped at the node limit before it had seen everything."""

    nodes: tuple[Any, ...]
    edges: tuple[tuple[Any, Any], ...]
    truncated: bool


def walk(
    start: Any,
    neighbours: Callable[[Any], Sequence[Any]],
    *,
    upstream: bool,
    depth: int,
    max_nodes: int,
) -> Graph:
    """Breadth-first from ``start`` to ``depth`` steps, at most ``max_nodes`` nodes. Edges are
    (child, parent) whichever the direction, so graphs of both directions read alike."""
    seen, order, edges = {start}, [start], []
    frontier, truncated = [start], False
    for _ in range(depth):
        nxt = []
        for node in frontier:
            for other in neighbours(node):
                edges.append((node, other) if upstream else (other, node))
                if other in seen:
                    continue
                if len(order) >= max_nodes:
                    truncated = True
                    continue
                seen.add(other)
                order.append(other)
                nxt.append(other)
        frontier = nxt
    kept = [e for e in edges if e[0] in seen and e[1] in seen]
    return Graph(tuple(order), tuple(dict.fromkeys(kept)), truncated)
