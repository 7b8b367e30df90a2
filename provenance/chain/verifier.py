"""Checking a bundle's anchor against the chain, through any JSON-RPC endpoint.

Everything is read from the chain and recomputed; nothing from our service is trusted. The reads
come from a :class:`~provenance.chain.reads.ChainReads`: plain JSON-RPC for the CLI, web3 for the
service. A third party can run the same reads with `cast`: `snapshotOf`, `latestCheckpoint`, `sourceStatus`,
`eth_getTransactionReceipt` (with its `CheckpointAnchored` log) and the block number.
"""

from __future__ import annotations

from provenance.chain.reads import ChainReads, Receipt, RegistryReads
from provenance.checkpoint import Checkpoint
from provenance.errors import AnchorMismatchError
from provenance.proofs.bundle import Sections
from provenance.proofs.verdict import Check, Status
from provenance.proofs.verify import ChainFacts


def _bad(name: str, reason: str, detail: str) -> Check:
    return Check(name, Status.INVALID, reason, detail)


class ChainVerifier:
    """An :class:`~provenance.proofs.verify.AnchorReader` over a node's reads."""

    def __init__(self, node: ChainReads, *, confirmations: int = 1) -> None:
        self.node = node
        self.confirmations = confirmations

    def check_anchor(self, bundle: Sections, checkpoint: Checkpoint | None) -> ChainFacts:
        anchor = bundle.anchor
        assert anchor is not None
        domain = bundle.manifest.domain
        chain_id = self.node.chain_id()
        if anchor.chain_id != chain_id:
            raise AnchorMismatchError(
                f"bundle is anchored on chain {anchor.chain_id}, the RPC serves {chain_id}",
                code="anchor.wrong-chain",
            )
        if (domain.chain_id, domain.verifying_contract.lower()) != (anchor.chain_id, anchor.contract.lower()):
            raise AnchorMismatchError(
                "the manifest is signed for another chain or registry than it is anchored in",
                code="anchor.domain-mismatch",
            )
        client = self.node.registry(anchor.contract)
        source = self._source_status(client, bundle)
        try:
            receipt = self._receipt(client, bundle)
        except AnchorMismatchError as e:
            failed = _bad("anchor", e.code, e.message)
            return ChainFacts(failed, _bad("confirmations", "confirmations.no-anchor", e.message), source)
        anchor_check = (
            self._direct(client, bundle, receipt)
            if anchor.mode == "direct"
            else self._checkpoint(client, checkpoint, receipt, anchor.checkpoint_index)
        )
        if anchor_check.status is Status.VALID and bundle.log is not None:
            anchor_check = self._log_key(client, bundle.log.log_key, anchor_check)
        if anchor_check.status is Status.VALID and anchor.mode != "direct":
            anchor_check = self._not_retracted(client, bundle, anchor_check)
        disputes = self._disputes(client, bundle) if anchor_check.status is Status.VALID else None
        return ChainFacts(anchor_check, self._confirmations(anchor.block_number), source, disputes)

    def anchor_time(self, bundle: Sections) -> tuple[int | None, int | None]:
        """(blocks on top of the anchor, counting its own; the anchoring block's timestamp), as a
        verification policy grades them; (None, None) when there is no anchor to read. Read only
        after :meth:`check_anchor` found the anchor where the bundle says."""
        anchor = bundle.anchor
        if anchor is None:
            return None, None
        head = self.node.block_number()
        block = self.node.block(anchor.block_number)
        if block is None or block[0] != anchor.block_hash:
            return None, None
        return head - anchor.block_number + 1, block[1]

    def _receipt(self, client: RegistryReads, bundle: Sections) -> Receipt:
        """The anchoring transaction's receipt, which must be where the bundle says it is."""
        anchor = bundle.anchor
        assert anchor is not None
        receipt = client.receipt(anchor.tx_hash)
        if receipt is None:
            raise AnchorMismatchError(
                f"transaction 0x{anchor.tx_hash.hex()} is not on the chain (dropped by "
                "a reorg, or never mined)",
                code="anchor.tx-not-found",
            )
        if receipt.block_hash != anchor.block_hash or receipt.block_number != anchor.block_number:
            raise AnchorMismatchError(
                f"transaction is in block {receipt.block_number} 0x{receipt.block_hash.hex()}, "
                f"not block {anchor.block_number} 0x{anchor.block_hash.hex()} (reorg?)",
                code="anchor.block-mismatch",
            )
        if receipt.status != 1 or (receipt.to or "").lower() != anchor.contract.lower():
            raise AnchorMismatchError(
                "the transaction failed or did not call the registry", code="anchor.bad-transaction"
            )
        return receipt

    def _direct(self, client: RegistryReads, bundle: Sections, receipt: Receipt) -> Check:
        m = bundle.manifest.manifest
        record = client.snapshot_of(m.dataset_id, m.version)
        if record is None:
            return _bad(
                "anchor", "anchor.not-found", f"{m.dataset} v{m.version} is not anchored in the registry"
            )
        if (record.root, record.size) != (m.root, m.size):
            return _bad(
                "anchor",
                "anchor.root-mismatch",
                f"the registry holds root {record.root.hex()} size {record.size} for this version",
            )
        if record.signer.lower() != bundle.manifest.signer.lower():
            return _bad("anchor", "anchor.signer-mismatch", f"the registry recorded signer {record.signer}")
        if record.retracted:
            return _bad("anchor", "anchor.retracted", f"{m.dataset} v{m.version} was retracted by its source")
        digest = m.digest(bundle.manifest.domain)
        events = client.events("SnapshotAnchored", receipt)
        if not any(
            bytes(e["datasetId"]) == m.dataset_id
            and e["version"] == m.version
            and bytes(e["digest"]) == digest
            for e in events
        ):
            return _bad("anchor", "anchor.event-missing", "the transaction did not anchor this manifest")
        return Check(
            "anchor",
            Status.VALID,
            "",
            f"direct: registry {client.address} holds the root since block {record.block_number}",
        )

    def _checkpoint(
        self, client: RegistryReads, checkpoint: Checkpoint | None, receipt: Receipt, index: int | None
    ) -> Check:
        """The receipt's event anchored this checkpoint; the registry's history still covers it.

        The registry keeps only its latest checkpoint in storage (older ones are in the events),
        and it accepted every anchor only with a consistency proof from the one before: the event
        in a canonical receipt plus a latest size at least as large is the whole evidence.
        """
        if checkpoint is None:
            return _bad("anchor", "anchor.no-checkpoint", "checkpoint mode needs a verified checkpoint")
        events = client.events("CheckpointAnchored", receipt)
        sizes = [e for e in events if e["size"] == checkpoint.size]
        if not sizes:
            return _bad("anchor", "anchor.event-missing", "the transaction did not anchor this checkpoint")
        event = next((e for e in sizes if bytes(e["root"]) == checkpoint.root), None)
        if event is None:
            return _bad(
                "anchor",
                "anchor.root-mismatch",
                f"the registry anchored root {bytes(sizes[0]['root']).hex()} for log size {checkpoint.size}",
            )
        if index is not None and event["index"] != index:
            return _bad(
                "anchor",
                "anchor.index-mismatch",
                f"the registry anchored log size {checkpoint.size} as checkpoint {event['index']}, "
                f"not {index}",
            )
        latest = client.latest_checkpoint()
        if latest is None or latest.size < checkpoint.size:
            # Cannot happen on a canonical chain (sizes never shrink): the RPC is inconsistent.
            return _bad(
                "anchor",
                "anchor.not-found",
                f"the registry's latest checkpoint is below log size {checkpoint.size}",
            )
        return Check(
            "anchor",
            Status.VALID,
            "",
            f"checkpoint: registry {client.address} anchored log size {checkpoint.size} as checkpoint "
            f"{event['index']} (its latest checkpoint: size {latest.size})",
        )

    def _disputes(self, client: RegistryReads, bundle: Sections) -> Check | None:
        """Anyone may dispute a snapshot on-chain: a warning beside the verdict, never a failure."""
        m = bundle.manifest.manifest
        count = client.dispute_count(m.dataset_id, m.version, m.root)
        if count == 0:
            return None
        return Check(
            "disputes",
            Status.WARNING,
            "anchor.disputed",
            f"{m.dataset} v{m.version} has {count} dispute(s) on-chain (SnapshotDisputed events, with "
            "their reasons and evidence): a warning; the verdict stands",
        )

    def _not_retracted(self, client: RegistryReads, bundle: Sections, anchor_check: Check) -> Check:
        """A checkpoint-mode snapshot's retraction is in the registry too (``retractLogged``); a
        direct one's is read with the snapshot (``snapshotOf``)."""
        m = bundle.manifest.manifest
        if client.is_retracted(m.dataset_id, m.version, m.root):
            return _bad("anchor", "anchor.retracted", f"{m.dataset} v{m.version} was retracted by its source")
        return anchor_check

    def _log_key(self, client: RegistryReads, key: str, anchor_check: Check) -> Check:
        """The checkpoint's signing key must be one the registry's owner vouches for: the chain,
        not the bundle, is where a verifier pins the log key."""
        name = key.split("+")[0]
        if not client.is_log_key(key):
            return _bad(
                "anchor",
                "anchor.log-key-unknown",
                f"the registry does not vouch for log key {name}: the checkpoint is not the ledger's",
            )
        detail = f"{anchor_check.detail}; log key {name} is vouched for by the registry"
        return Check("anchor", Status.VALID, "", detail)

    def _confirmations(self, block_number: int) -> Check:
        head = self.node.block_number()
        depth = head - block_number + 1
        if depth < 1:
            return _bad(
                "confirmations",
                "confirmations.inconsistent-node",
                f"the node's head block {head} is below the anchoring block {block_number} it served "
                "a receipt for: the node contradicts itself and is not believed",
            )
        if depth >= self.confirmations:
            return Check(
                "confirmations", Status.VALID, "", f"{depth} confirmations (required {self.confirmations})"
            )
        return Check(
            "confirmations",
            Status.PENDING,
            "confirmations.pending",
            f"{depth} of {self.confirmations} confirmations",
        )

    def _source_status(self, client: RegistryReads, bundle: Sections) -> Check:
        signer = bundle.manifest.signer
        status = client.source_status(signer)
        if status == 2:
            return _bad("source-status", "source-status.revoked", f"source {signer} is revoked")
        if status == 1:
            return Check("source-status", Status.VALID, "", f"source {signer} is active")
        if client.is_authorized_signer(bundle.manifest.manifest.dataset_id, signer):
            return Check(
                "source-status", Status.VALID, "", f"{signer} is an authorised signer of the dataset"
            )
        return _bad("source-status", "source-status.unregistered", f"{signer} is not a registered source")


def verifier_for(url: str, confirmations: int = 1, timeout: float = 10.0) -> ChainVerifier:
    """A verifier reading the chain at ``url`` over plain JSON-RPC (no web3 to import).

    Raises:
        ChainError: ``chain.bad-url``.
    """
    from provenance.chain.jsonrpc import JsonRpc
    from provenance.chain.registry_reads import RpcChain

    return ChainVerifier(RpcChain(JsonRpc(url, timeout).request), confirmations=confirmations)
