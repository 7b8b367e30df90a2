"""The anchoring worker: checkpoints the ledger log and drains the outbox onto the chain.

One step does, in order: push source registrations/revocations to the chain; cut a checkpoint
when the log has grown by ``checkpoint_every`` entries or its oldest unanchored entry is
``checkpoint_interval`` seconds old; then advance every open outbox row:

    queued  → signed   raw transaction and hash stored *before* broadcasting
    signed  → sent     broadcast (again, after a crash: the same bytes are harmless)
    sent    → mined    receipt found; block number and hash stored
    mined   → confirmed once ``confirmations`` blocks deep; a reorg that drops it → queued

Before signing, the chain itself is asked whether the anchor is already there (a lost update
after a crash), so nothing is ever anchored twice. RPC failures leave rows where they are and
are retried on the next step. Only one worker runs per database (see ``leader``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount

from provenance.chain.finality import AnchorRef, AnchorState, check
from provenance.chain.registry import RegistryClient, retraction_tuple, snapshot_tuple
from provenance.chain.reverts import ContractRevert
from provenance.crash_points import crash_point
from provenance.errors import ChainError, ProvenanceError, RpcUnavailable
from provenance.server.ledger import Ledger
from provenance.server.store.models import AnchorRow, CheckpointRow

log = logging.getLogger("provenance.server.worker")


@dataclass
class WorkerStats:
    steps: int = 0
    anchored: int = 0
    confirmed: int = 0
    resubmitted: int = 0
    errors: int = 0
    last_error: str = ""


class AnchorWorker:
    def __init__(
        self,
        ledger: Ledger,
        client: RegistryClient,
        account: LocalAccount,
        *,
        checkpoint_every: int = 16,
        checkpoint_interval: float = 10.0,
        confirmations: int = 1,
        deploy_block: int = 0,
        audit_interval: float = 3600.0,
    ) -> None:
        self.ledger = ledger
        self.audit_interval = audit_interval
        self._audit_at = time.monotonic()
        self.client = client
        self.account = account
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self.confirmations = confirmations
        self.deploy_block = deploy_block
        self.stats = WorkerStats()

    # --- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event, poll: float = 0.5) -> None:
        while not stop.is_set():
            self.step()
            stop.wait(poll)

    def step(self) -> None:
        """One pass; never raises (errors are counted, logged and retried next time)."""
        self.stats.steps += 1
        for action in (self.sync_sources, self.maybe_snapshot_audit, self.maybe_checkpoint, self.drain):
            try:
                action()
            except RpcUnavailable as e:
                self._error(f"chain unreachable: {e.message}")
                return  # nothing else can progress without the node
            except ProvenanceError as e:
                self._error(f"{e.code}: {e.message}")
            except Exception as e:  # keep the worker alive; the row stays where it was
                log.exception("anchoring step failed")
                self._error(f"{type(e).__name__}: {e}")

    def _error(self, text: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = text
        log.warning("%s", text)

    def maybe_snapshot_audit(self) -> None:
        """The audit trail as a signed, anchored dataset, every ``audit_interval`` seconds when it
        grew (before the checkpoint, so its new version is in the same one)."""
        if time.monotonic() - self._audit_at < self.audit_interval:
            return
        self._audit_at = time.monotonic()
        self.ledger.snapshot_audit_trail()

    # --- sources -----------------------------------------------------------------------------

    def sync_sources(self) -> None:
        for update in self.ledger.pending_source_updates():
            pk, address, status = update.pk, update.address, update.status
            on_chain = self.client.source_status(address)
            try:
                if status == "active" and on_chain == 0:
                    self.client.register_source(address, self.account)
                elif status == "revoked" and on_chain != 2:
                    self.client.revoke_source(address, self.account)
            except ContractRevert as e:
                self._error(f"source {address}: {e.message}")
                continue
            self.ledger.mark_source_on_chain(pk, "registered" if status == "active" else "revoked")

    # --- checkpoints -------------------------------------------------------------------------

    def maybe_checkpoint(self, force: bool = False) -> CheckpointRow | None:
        size, done, oldest = self.ledger.unanchored_log()
        age = (datetime.now(UTC) - _aware(oldest)).total_seconds() if oldest else 0.0
        if not checkpoint_due(size - done, age, self.checkpoint_every, self.checkpoint_interval, force):
            return None
        row = self.ledger.cut_checkpoint()
        crash_point("checkpoint.cut")
        return row

    # --- the outbox --------------------------------------------------------------------------

    def drain(self) -> None:
        for row in self.ledger.open_anchors():
            getattr(self, f"_on_{row.state}")(row)

    def _on_queued(self, row: AnchorRow) -> None:
        existing = self._already_on_chain(row)
        if existing is not None:  # a previous attempt landed but its update was lost
            self._set(
                row,
                "mined",
                tx_hash=existing[0],
                block_number=existing[1],
                block_hash=existing[2],
                checkpoint_index=existing[3],
                raw_tx=None,
            )
            return
        fn = self._function(row)
        if fn is None:
            return
        try:
            raw, tx_hash = self.client.tx.sign(fn, self.account)
        except ContractRevert as e:
            self._set(row, "queued", last_error=e.message, attempts=row.attempts + 1)
            raise
        self._set(row, "signed", raw_tx=raw, tx_hash=tx_hash, attempts=row.attempts + 1)
        crash_point("anchor.signed")
        row.raw_tx, row.tx_hash = raw, tx_hash
        self._on_signed(row)

    def _on_signed(self, row: AnchorRow) -> None:
        assert row.raw_tx is not None
        receipt = self.client.receipt(bytes(row.tx_hash or b""))
        if receipt is None:
            try:
                self.client.tx.broadcast(bytes(row.raw_tx))
            except ChainError as e:
                # e.g. "nonce too low": that nonce went to another transaction; sign anew
                self._set(row, "queued", raw_tx=None, tx_hash=None, last_error=e.message)
                return
            crash_point("anchor.broadcast")
        self._set(row, "sent")
        row.state = "sent"
        self._on_sent(row)

    def _on_sent(self, row: AnchorRow) -> None:
        receipt = self.client.receipt(bytes(row.tx_hash or b""))
        if receipt is None and row.raw_tx is not None:
            try:
                self.client.tx.broadcast(bytes(row.raw_tx))  # lost from the mempool: send again
            except ChainError as e:
                if e.code != "chain.nonce-used":
                    raise
                # Its nonce is used: either it was mined between our two questions (a node that
                # mines on its own schedule) or another transaction took the nonce.
                receipt = self.client.receipt(bytes(row.tx_hash or b""))
                if receipt is None:
                    # Re-queue; the chain is asked first there, so nothing is anchored twice.
                    self._set(row, "queued", raw_tx=None, tx_hash=None, last_error=e.message)
                    return
        if receipt is None:
            return
        if receipt["status"] != 1:
            self._set(row, "queued", raw_tx=None, tx_hash=None, last_error="transaction reverted")
            return
        index = None
        if row.kind == "checkpoint":
            events = self.client.events("CheckpointAnchored", receipt)
            index = int(events[0]["index"]) if events else None
        self._set(
            row,
            "mined",
            block_number=int(receipt["blockNumber"]),
            block_hash=bytes(receipt["blockHash"]),
            checkpoint_index=index,
            confirmations=1,
            last_error=None,
        )
        crash_point("anchor.mined")
        self.stats.anchored += 1

    def _on_mined(self, row: AnchorRow) -> None:
        assert row.tx_hash is not None and row.block_hash is not None and row.block_number is not None
        status = check(
            self.client,
            AnchorRef(bytes(row.tx_hash), row.block_number, bytes(row.block_hash)),
            self.confirmations,
        )
        if status.state is AnchorState.DROPPED:
            # Reorged out: anchor again. The chain is asked first, so a re-inclusion is not doubled.
            self._set(
                row,
                "queued",
                raw_tx=None,
                tx_hash=None,
                block_number=None,
                block_hash=None,
                checkpoint_index=None,
                confirmations=0,
                resubmissions=row.resubmissions + 1,
                last_error="dropped by a reorg",
            )
            self.stats.resubmitted += 1
            return
        values: dict[str, Any] = {
            "confirmations": status.confirmations,
            "block_number": status.ref.block_number,
            "block_hash": status.ref.block_hash,
        }
        if status.state is AnchorState.CONFIRMED:
            self._set(row, "confirmed", **values)
            self.stats.confirmed += 1
        else:
            self._set(row, "mined", **values)

    # --- helpers -----------------------------------------------------------------------------

    def _set(self, row: AnchorRow, state: str, **values: object) -> None:
        self.ledger.set_anchor_state(row.id, state, **values)

    def _function(self, row: AnchorRow) -> Any | None:
        functions = self.client.contract.functions
        if row.kind == "retraction":
            return self._retraction(row)
        if row.kind == "direct":
            assert row.snapshot_pk is not None
            signed = self.ledger.direct_subject(row.snapshot_pk).signed
            return functions.anchorSnapshot(snapshot_tuple(signed.manifest), signed.signature)
        assert row.checkpoint_pk is not None
        cp = self.ledger.checkpoint_of(row.checkpoint_pk)
        on_chain = self.client.latest_checkpoint()
        base = on_chain.size if on_chain else 0
        if base >= cp.size:
            # A later checkpoint is already anchored: this one is covered by it (append-only), and
            # proofs use the later one. Nothing to send.
            self._set(row, "superseded", last_error=f"chain already at log size {base}")
            return None
        proof = self.ledger.log_consistency_proof(base, cp.size) if base else []
        return functions.anchorCheckpoint(cp.size, bytes(cp.root), proof)

    def _retraction(self, row: AnchorRow) -> Any | None:
        """retractSigned, or retractLogged with the manifest's inclusion in the latest anchored
        checkpoint (which the retraction waits for)."""
        assert row.retraction_pk is not None
        subject = self.ledger.retractions.subject(row.retraction_pk)
        r = retraction_tuple(subject.signed.retraction)
        functions = self.client.contract.functions
        if subject.mode == "direct":
            return functions.retractSigned(r, subject.signed.signature)
        latest = self.client.latest_checkpoint()
        index = subject.log_index
        if latest is None or index is None or index >= latest.size:
            waiting = "waiting for a checkpoint that covers the snapshot"
            if row.last_error != waiting:  # once, not a write on every poll while it waits
                self._set(row, "queued", last_error=waiting)
            return None
        proof = self.ledger.log.tree(at_least=latest.size).inclusion_proof(index, latest.size)
        m = subject.manifest
        return functions.retractLogged(
            r, subject.signed.signature, snapshot_tuple(m.manifest), m.signature, index, proof
        )

    def _already_on_chain(self, row: AnchorRow) -> tuple[bytes, int, bytes, int | None] | None:
        """(tx hash, block number, block hash, checkpoint index) of the anchor if it landed."""
        if row.kind == "retraction":
            event = self._retraction_event(row)
        else:
            event = self._direct_event(row) if row.kind == "direct" else self._checkpoint_event(row)
        if event is None:
            return None
        index = int(event["args"]["index"]) if row.kind == "checkpoint" else None
        return bytes(event["transactionHash"]), int(event["blockNumber"]), bytes(event["blockHash"]), index

    def _direct_event(self, row: AnchorRow) -> Any | None:
        assert row.snapshot_pk is not None
        subject = self.ledger.direct_subject(row.snapshot_pk)
        record = self.client.snapshot_of(subject.dataset_id, subject.version)
        if record is None:
            return None
        if record.root != subject.root:
            raise ChainError(
                f"{subject.dataset} v{subject.version} is anchored with another root", code="chain.conflict"
            )
        event = self.client.find_event(
            "SnapshotAnchored", self.deploy_block, datasetId=subject.dataset_id, version=subject.version
        )
        if event is None:
            # Sending again would only revert (UnexpectedVersion), poll after poll: say what is wrong.
            raise ChainError(
                f"the registry holds {subject.dataset} v{subject.version} with our root, but no transaction "
                "in the chain's history anchored it: the node lost blocks it kept the state of (restored "
                "from a state dump?); nothing is sent, and the anchor stays queued until a node has it",
                code="chain.history-missing",
            )
        return event

    def _retraction_event(self, row: AnchorRow) -> Any | None:
        assert row.retraction_pk is not None
        subject = self.ledger.retractions.subject(row.retraction_pk)
        r = subject.signed.retraction
        if not self.client.is_retracted(r.dataset_id, r.version, r.root):
            return None
        name = "SnapshotRetracted" if subject.mode == "direct" else "LoggedSnapshotRetracted"
        return self.client.find_event(name, self.deploy_block, datasetId=r.dataset_id, version=r.version)

    def _checkpoint_event(self, row: AnchorRow) -> Any | None:
        assert row.checkpoint_pk is not None
        cp = self.ledger.checkpoint_of(row.checkpoint_pk)
        # Only the latest checkpoint is in storage; the events record every anchored one.
        event = self.client.find_event("CheckpointAnchored", self.deploy_block, size=cp.size)
        if event is not None and bytes(event["args"]["root"]) != cp.root:
            raise ChainError(f"log size {cp.size} is anchored with another root", code="chain.conflict")
        return event


def checkpoint_due(pending: int, age: float, every: int, interval: float, force: bool = False) -> bool:
    """Whether to cut a checkpoint: ``pending`` log entries after the last one, the oldest of
    them ``age`` seconds old; due at ``every`` entries or ``interval`` seconds (never when empty)."""
    return pending > 0 and (force or pending >= every or age >= interval)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def wait_until(predicate: Any, timeout: float = 30.0, poll: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (tests and the startup path use it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())


@contextlib.contextmanager
def leader(ledger: Ledger) -> Iterator[bool]:
    """Hold the anchoring leadership for the duration of the block; yields whether we got it."""
    with ledger.leadership() as ok:
        yield ok
