"""``provenance fsck``: the ledger's store checked against what it has signed and anchored.

Every complete snapshot's root is rebuilt from its stored records and compared with the stored
root, the stored tree and the signed manifest, whose signature is checked again; the ledger log
is rebuilt from its entries and every signed checkpoint is checked against it; and, given a
chain, every anchor the store calls mined or confirmed is looked up there. Nothing is repaired:
every difference is reported (the CLI exits 1), so an operator sees what a verifier would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from provenance import merkle
from provenance.chain.backends import rpc_web3
from provenance.chain.registry import RegistryClient
from provenance.checkpoint import LogSigner, LogVerifier
from provenance.config import DEV_KEY_PASSWORD, Settings
from provenance.errors import ConfigError, NotFoundError, ProvenanceError
from provenance.keys import load_log_key
from provenance.manifest import Domain, SignedManifest, recover_signer
from provenance.quality.report import report_digest
from provenance.server.store.database import Database, sqlite_url
from provenance.server.store.models import (
    AnchorRow,
    CheckpointRow,
    DatasetRow,
    DeploymentRow,
    LogEntryRow,
    SnapshotRow,
)
from provenance.server.store.quality import QualityRepository
from provenance.server.store.snapshots import SnapshotRepository


@dataclass(frozen=True)
class Difference:
    where: str  # e.g. "tm/prices/daily@3", "log entry 17", "checkpoint 24", "anchor 5"
    code: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "code": self.code, "detail": self.detail}


@dataclass
class Report:
    snapshots: int = 0
    records: int = 0
    log_entries: int = 0
    checkpoints: int = 0
    anchors: int = 0
    chain_checked: bool = False
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "provenance-fsck/v1",
            "clean": self.clean,
            "checked": {
                "snapshots": self.snapshots,
                "records": self.records,
                "logEntries": self.log_entries,
                "checkpoints": self.checkpoints,
                "anchors": self.anchors,
                "chain": self.chain_checked,
            },
            "differences": [d.to_json() for d in self.differences],
        }


def check_ledger(cfg: Settings, *, rpc_url: str | None = None, offline: bool = False) -> Report:
    """:func:`fsck` of the ledger ``cfg`` names (its data directory or database URL), against
    ``rpc_url`` (default: the ledger's own chain) unless ``offline``.

    Raises:
        NotFoundError: no ledger there, or no deployment to check anchors against.
        ConfigError: no chain known and not ``offline``.
    """
    if cfg.database_url is None and not (cfg.data_dir / "ledger.sqlite3").exists():
        raise NotFoundError(f"no ledger in {cfg.data_dir}", code="config.no-ledger")
    db = Database(cfg.database_url or sqlite_url(cfg.data_dir))
    try:
        chain = None if offline else _chain(db, cfg, rpc_url)
        return fsck(db, _log_key(cfg), chain)
    finally:
        db.close()


def _log_key(cfg: Settings) -> str:
    """The log's public verifier key: written beside the keystore when the key was made."""
    vkey = cfg.keys_dir / "log.vkey"
    if vkey.exists():
        return vkey.read_text().strip()
    password = cfg.secret(cfg.key_password, "PROVENANCE_KEY_PASSWORD", DEV_KEY_PASSWORD)
    return LogSigner(cfg.log_origin, load_log_key(cfg.keys_dir / "log.pem", password)).verifier_key()


def _chain(db: Database, cfg: Settings, rpc_url: str | None) -> RegistryClient:
    url = rpc_url or cfg.rpc_url
    if url is None and cfg.chain_backend == "anvil":
        url = f"http://127.0.0.1:{cfg.anvil_port}"
    if url is None:
        raise ConfigError("no chain to check anchors on: give --rpc-url or --offline", code="config.no-chain")
    domain = _domain(db)
    if domain is None:
        raise NotFoundError("this ledger has no chain deployment", code="deployment.not-found")
    return RegistryClient(rpc_web3(url), domain.verifying_contract)


def fsck(db: Database, log_key: str, chain: RegistryClient | None = None) -> Report:
    """Check everything; ``log_key`` is the log's C2SP verifier key (public)."""
    report = Report(chain_checked=chain is not None)
    domain = _domain(db)
    snapshots = SnapshotRepository(db)
    log_tree = _check_log(db, report)
    for row, name in _complete_snapshots(db):
        _check_snapshot(snapshots, row, name, domain, log_tree, report)
    _check_checkpoints(db, LogVerifier.parse(log_key), log_tree, report)
    if chain is not None:
        _check_anchors(db, chain, report)
    return report


def _domain(db: Database) -> Domain | None:
    with db.session() as s:
        row = s.scalars(select(DeploymentRow)).first()
        return None if row is None else Domain(row.chain_id, row.address)


def _complete_snapshots(db: Database) -> list[tuple[SnapshotRow, str]]:
    with db.session() as s:
        rows = s.execute(
            select(SnapshotRow, DatasetRow.name)
            .join(DatasetRow, DatasetRow.id == SnapshotRow.dataset_pk)
            .where(SnapshotRow.state == "complete")
            .order_by(SnapshotRow.id)
        ).all()
        s.expunge_all()
    return [(row, name) for row, name in rows]


def _check_snapshot(
    snapshots: SnapshotRepository,
    row: SnapshotRow,
    name: str,
    domain: Domain | None,
    log_tree: tuple[list[bytes], merkle.MerkleTree],
    report: Report,
) -> None:
    where = f"{name}@{row.version}"
    report.snapshots += 1
    diff = report.differences.append
    hashes = b"".join(merkle.leaf_hashes(page) for page in snapshots.entry_pages(row.id))
    report.records += len(hashes) // 32
    rebuilt = merkle.MerkleTree.from_leaf_hashes(hashes).root
    if len(hashes) // 32 != row.size or rebuilt != row.root:
        detail = f"{len(hashes) // 32} stored records rebuild root {rebuilt.hex()}; stored: {_hex(row.root)}"
        diff(Difference(where, "fsck.records-mismatch", detail))
    elif row.size and snapshots.tree(row.id, row.size).root != rebuilt:
        diff(Difference(where, "fsck.tree-mismatch", "the stored tree nodes do not give the records' root"))
    for problem in _manifest_problems(row, name, domain):
        diff(Difference(where, "fsck.manifest-mismatch", problem))
    if (quality := _quality_problem(snapshots.db, row)) is not None:
        diff(Difference(where, "fsck.quality-mismatch", quality))
    digests, _ = log_tree
    index = row.log_index
    if index is None or index >= len(digests) or digests[index] != row.digest:
        detail = f"log entry {index} is not this snapshot's manifest digest"
        diff(Difference(where, "fsck.log-mismatch", detail))


def _quality_problem(db: Database, row: SnapshotRow) -> str | None:
    """The stored quality report against the digest its signed manifest carries (v2)."""
    try:
        quality = json.loads(row.signed_manifest or "null")["manifest"].get("quality")
    except (ValueError, TypeError, KeyError):
        return None  # an unreadable manifest is reported as such
    with db.session() as s:
        stored = QualityRepository().get(s, row.id)
    if quality is None:
        return None if stored is None else "a quality report is stored for a manifest without rules"
    if stored is None:
        return "the manifest commits to a quality report that is not stored"
    try:
        digest = report_digest(json.loads(stored))
    except (ProvenanceError, ValueError) as e:
        return f"the stored quality report does not read: {e}"
    if "0x" + digest.hex() != quality.get("report"):
        return (
            f"the stored quality report hashes to {digest.hex()}, the manifest signs {quality.get('report')}"
        )
    return None


def _manifest_problems(row: SnapshotRow, name: str, domain: Domain | None) -> list[str]:
    try:
        signed = SignedManifest.from_json(json.loads(row.signed_manifest or "null"))
        m = signed.manifest
        signer = recover_signer(m, signed.domain, signed.signature)
    except (ProvenanceError, ValueError) as e:
        return [f"the stored signed manifest does not read: {e}"]
    wrong = [
        what
        for what, ok in [
            ("dataset", m.dataset == name),
            ("version", m.version == row.version),
            ("root", m.root == row.root),
            ("size", m.size == row.size),
            ("signer", (row.signer or "").lower() == signer.lower()),
            ("digest", m.digest(signed.domain) == row.digest),
            ("domain", domain is None or signed.domain == domain),
        ]
        if not ok
    ]
    return [f"the signed manifest and the store differ: {', '.join(wrong)}"] if wrong else []


def _check_log(db: Database, report: Report) -> tuple[list[bytes], merkle.MerkleTree]:
    with db.session() as s:
        entries = s.execute(select(LogEntryRow.index, LogEntryRow.digest).order_by(LogEntryRow.index)).all()
    digests = [bytes(d) for _, d in entries]
    for expected, (index, _) in enumerate(entries):
        if index != expected:
            report.differences.append(
                Difference(f"log entry {expected}", "fsck.log-gap", f"the next stored entry is {index}")
            )
            break
    report.log_entries = len(digests)
    return digests, merkle.MerkleTree.from_leaf_inputs(digests)


def _check_checkpoints(
    db: Database, verifier: LogVerifier, log_tree: tuple[list[bytes], merkle.MerkleTree], report: Report
) -> None:
    digests, tree = log_tree
    with db.session() as s:
        rows = s.scalars(select(CheckpointRow).order_by(CheckpointRow.size)).all()
        s.expunge_all()
    for row in rows:
        report.checkpoints += 1
        where = f"checkpoint {row.size}"
        try:
            note = verifier.verify(row.note)
        except ProvenanceError as e:
            report.differences.append(Difference(where, "fsck.bad-checkpoint", e.message))
            continue
        if row.size > len(digests):
            detail = f"the log holds {len(digests)} entries"
            report.differences.append(Difference(where, "fsck.checkpoint-mismatch", detail))
            continue
        root = tree.root_at(row.size)
        if not (note.size == row.size and note.root == row.root == root):
            detail = f"signed root {note.root.hex()}, stored {_hex(row.root)}, the log's {root.hex()}"
            report.differences.append(Difference(where, "fsck.checkpoint-mismatch", detail))


def _check_anchors(db: Database, chain: RegistryClient, report: Report) -> None:
    with db.session() as s:
        rows = s.scalars(select(AnchorRow).where(AnchorRow.state.in_(("mined", "confirmed")))).all()
        checkpoints = {c.id: c for c in s.scalars(select(CheckpointRow))}
        s.expunge_all()
    for row in rows:
        report.anchors += 1
        try:
            problem = _anchor_problem(chain, row, checkpoints)
        except ProvenanceError as e:
            problem = f"the chain could not be read: {e.message}"
        if problem is not None:
            report.differences.append(Difference(f"anchor {row.id}", "fsck.anchor-mismatch", problem))


def _anchor_problem(
    chain: RegistryClient, row: AnchorRow, checkpoints: dict[int, CheckpointRow]
) -> str | None:
    tx = _hex(row.tx_hash)
    receipt = chain.receipt(bytes(row.tx_hash or b""))
    if receipt is None:
        return f"transaction {tx} is not on the chain"
    if bytes(receipt["blockHash"]) != bytes(row.block_hash or b""):
        return f"transaction {tx} is in block 0x{bytes(receipt['blockHash']).hex()}, not the stored one"
    if row.kind != "checkpoint" or row.checkpoint_pk is None:
        return None
    cp = checkpoints[row.checkpoint_pk]
    events = chain.events("CheckpointAnchored", receipt)
    if not any(int(e["size"]) == cp.size and bytes(e["root"]) == bytes(cp.root) for e in events):
        return f"its receipt has no CheckpointAnchored event for size {cp.size} and the stored root"
    return None


def _hex(value: bytes | None) -> str:
    return "none" if value is None else "0x" + bytes(value).hex()
