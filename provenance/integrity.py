"""Does a data file still hold what was anchored? The CI gate's core (``provenance check``).

The file is hashed locally under the schema its signed manifest names (:func:`hash_file`), its
root and size are compared with the manifest's, and the snapshot proof is verified (signature,
log, checkpoint, anchor): :func:`check`. When the data does not match, :func:`diff` lists the
records added, removed, changed and moved, by key, against the anchored records — from an older
copy of the file or from the ledger's records stream, either recomputed to the signed root first.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from provenance import merkle
from provenance.ingest import IngestPool, Upstream, ingest_file
from provenance.merkle import MerkleTree
from provenance.proofs.snapshot import SNAPSHOT_CHECKS, SnapshotProof, verify_snapshot
from provenance.proofs.verdict import RETRACTED, Check, Status
from provenance.proofs.verify import AnchorReader, Policy
from provenance.quality.report import QualityReport
from provenance.records.canonical import key_text
from provenance.records.chunks import ChunkResult
from provenance.records.schema import Schema
from provenance.upstream import KeyedLeaves

CHECKS = ("data", "quality", *SNAPSHOT_CHECKS, "pinned-signer", "pinned-registry", "policy")
MAX_CHANGES = 1000  # listed by key; the counts are always complete


@dataclass
class FileTree:
    """What a copy of a snapshot's data hashes to: each record's key text and leaf hash."""

    source: str
    size: int
    root: bytes
    keys: list[bytes]
    leaves: bytes  # concatenated 32-byte leaf hashes, leaf order
    lines: array[int] | None = None  # each record's line (CSV, JSON Lines) or row (Parquet)
    quality: QualityReport | None = None  # what the schema's rules find in the file

    def index(self) -> dict[bytes, int]:
        return {k: i for i, k in enumerate(self.keys)}

    def leaf(self, i: int) -> bytes:
        return self.leaves[i * 32 : (i + 1) * 32]


class _Collect:
    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.hashes: list[bytes] = []
        self.lines = array("q")

    def add(self, first_index: int, result: ChunkResult) -> None:
        self.keys += result.keys.split(b"\n")[: result.count]
        self.hashes.append(result.hashes)
        self.lines.extend(result.lines)


def hash_file(
    path: Path,
    schema: Schema,
    *,
    fmt: str | None = None,
    salt_secret: bytes | None = None,
    upstream: Upstream | None = None,
    workers: int | None = None,
    pool: IngestPool | None = None,
    as_of: int | None = None,
) -> FileTree:
    """Hash ``path`` as the ledger would ingest it under ``schema`` (its rules judged at
    ``as_of``, the manifest's ``createdAt``).

    Raises:
        InputError: the file cannot be read under the schema (named by line and column).
    """
    sink = _Collect()
    built = ingest_file(
        path,
        schema,
        sink,
        fmt=fmt,
        salt_secret=salt_secret,
        workers=workers,
        upstream=upstream,
        pool=pool,
        lines_and_keys_only=True,
        as_of=as_of,
    )
    hashes = b"".join(sink.hashes)
    return FileTree(str(path), built.size, built.root, sink.keys, hashes, sink.lines, built.quality)


def hash_entries(lines: Iterable[bytes], key_columns: tuple[str, ...], source: str) -> FileTree:
    """Hash a records stream (one RFC 8785 leaf input per line, as the ledger serves them)."""
    keys: list[bytes] = []
    entries: list[bytes] = []
    for line in lines:
        if not line:
            continue
        record = orjson.loads(line)["record"]
        keys.append(key_text([record[c] for c in key_columns]))
        entries.append(line)
    leaves = merkle.leaf_hashes(entries)
    return FileTree(source, len(keys), MerkleTree.from_leaf_hashes(leaves, threads=2).root, keys, leaves)


def upstream_of(tree: FileTree) -> KeyedLeaves:
    """A parent's records, by key, for pinning a derived file's refs."""
    return KeyedLeaves(b"".join(k + b"\n" for k in tree.keys), tree.leaves)


@dataclass(frozen=True)
class Change:
    kind: str  # added | removed | changed | moved
    key: str  # the record's key text (RFC 8785 of its key values)
    index: int | None  # leaf index in the checked file (None when removed)
    anchored_index: int | None  # leaf index in the anchored data (None when added)
    line: int | None = None  # line (CSV, JSON Lines) or row (Parquet) in the checked file


@dataclass(frozen=True)
class Diff:
    against: str  # what the anchored records came from
    counts: Mapping[str, int]
    changes: tuple[Change, ...]  # the first MAX_CHANGES


def diff(current: FileTree, anchored: FileTree, *, limit: int = MAX_CHANGES) -> Diff:
    """Records added, removed, changed (same key, other content) and moved (same record at
    another position: the root depends on order), by key."""
    before = anchored.index()
    counts = {"added": 0, "removed": 0, "changed": 0, "moved": 0}
    changes: list[Change] = []

    def note(kind: str, key: bytes, i: int | None, j: int | None) -> None:
        counts[kind] += 1
        if len(changes) < limit:
            changes.append(Change(kind, key.decode(), i, j))

    seen: set[bytes] = set()
    for i, key in enumerate(current.keys):
        seen.add(key)
        j = before.get(key)
        if j is None:
            note("added", key, i, None)
        elif current.leaf(i) != anchored.leaf(j):
            note("changed", key, i, j)
        elif i != j:
            note("moved", key, i, j)
    for j, key in enumerate(anchored.keys):
        if key not in seen:
            note("removed", key, None, j)
    return Diff(anchored.source, counts, tuple(_with_lines(current, changes)))


def _with_lines(current: FileTree, changes: list[Change]) -> list[Change]:
    lines = current.lines
    if not lines:
        return changes
    return [
        c if c.index is None else Change(c.kind, c.key, c.index, c.anchored_index, lines[c.index])
        for c in changes
    ]


@dataclass(frozen=True)
class Pins:
    """What the caller requires beyond what the proof claims."""

    signer: str | None = None
    registry: str | None = None


@dataclass(frozen=True)
class Report:
    dataset: str
    version: int
    file: str
    checks: tuple[Check, ...]
    diff: Diff | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        """``match``; ``mismatch`` (the data differs); ``retracted`` (the data is what was
        anchored, and its source has withdrawn it); ``failed`` (a check of the proof failed or
        could not complete, e.g. not anchored yet)."""
        if self.checks[0].status is Status.INVALID:
            return "mismatch"
        failed = [c for c in self.checks if c.status is Status.INVALID]
        if failed and all(c.reason == RETRACTED for c in failed):
            return "retracted"
        if all(c.status in (Status.VALID, Status.NOT_APPLICABLE) for c in self.checks):
            return "match"
        return "failed"


def data_check(tree: FileTree, proof: SnapshotProof) -> Check:
    """Whether the file hashes to the signed root and size."""
    m = proof.manifest.manifest
    if (tree.size, tree.root) == (m.size, m.root):
        return Check("data", Status.VALID, "", f"{tree.size} records hash to the signed root {m.root.hex()}")
    return Check(
        "data",
        Status.INVALID,
        "data.root-mismatch",
        f"{tree.size} records hash to {tree.root.hex()}; "
        f"{m.dataset} v{m.version} signed {m.size} records with root {m.root.hex()}",
    )


def quality_check(tree: FileTree, proof: SnapshotProof) -> Check:
    """Whether the rules, re-run on the file, find what the source signed (v2 manifests)."""
    signed = proof.manifest.manifest.quality
    if signed is None or tree.quality is None:
        return Check("quality", Status.NOT_APPLICABLE, "", "the signed schema has no quality rules")
    found = tree.quality.summary()
    rules = len(tree.quality.outcomes)
    failed = ", ".join(found.failed_rules) or "none"
    if found == signed:
        return Check(
            "quality",
            Status.VALID,
            "",
            f"{rules} rules re-run on the file give the signed report {signed.report.hex()} "
            f"(failed: {failed})",
        )
    return Check(
        "quality",
        Status.INVALID,
        "quality.report-mismatch",
        f"{rules} rules re-run on the file give report {found.report.hex()} (failed: {failed}); "
        f"the source signed {signed.report.hex()} (failed: {', '.join(signed.failed_rules) or 'none'})",
    )


def proof_checks(
    proof: SnapshotProof,
    *,
    chain: AnchorReader | None,
    pins: Pins = Pins(),
    policy: Policy | None = None,
) -> tuple[Check, ...]:
    """The checks of the snapshot proof, in :data:`CHECKS` order after ``data``; they do not
    depend on the file, so they can run while it is hashed. Never raises for a bad proof."""
    verdict = verify_snapshot(proof, policy=policy or Policy(), chain=chain)
    return (*verdict.checks, _pinned_signer(proof, pins), _pinned_registry(proof, pins))


def _pinned_signer(proof: SnapshotProof, pins: Pins) -> Check:
    if pins.signer is None:
        return Check("pinned-signer", Status.NOT_APPLICABLE, "", "no --signer given")
    if proof.manifest.signer.lower() == pins.signer.lower():
        return Check("pinned-signer", Status.VALID, "", f"signed by the pinned {pins.signer}")
    return Check(
        "pinned-signer",
        Status.INVALID,
        "pinned-signer.mismatch",
        f"signed by {proof.manifest.signer}, not the pinned {pins.signer}",
    )


def _pinned_registry(proof: SnapshotProof, pins: Pins) -> Check:
    if pins.registry is None:
        return Check("pinned-registry", Status.NOT_APPLICABLE, "", "no --registry given")
    contract = proof.manifest.domain.verifying_contract
    if proof.anchor is not None:
        contract = proof.anchor.contract
    if contract.lower() == pins.registry.lower() == proof.manifest.domain.verifying_contract.lower():
        return Check("pinned-registry", Status.VALID, "", f"signed for and anchored in {pins.registry}")
    return Check(
        "pinned-registry",
        Status.INVALID,
        "pinned-registry.mismatch",
        f"the proof names registry {contract}, not the pinned {pins.registry}",
    )
