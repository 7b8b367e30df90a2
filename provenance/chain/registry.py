"""Typed client of the ProvenanceRegistry contract: every write and read, over any backend.

Writes are signed locally and sent raw; a revert comes back as :class:`ContractRevert` naming
the contract's custom error and its arguments (decoded from the ABI), never as a raw RPC blob.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from provenance.chain.artifact import registry_artifact
from provenance.chain.backends import rpc_errors
from provenance.chain.reads import CheckpointRecord, SnapshotRecord
from provenance.chain.reverts import ContractRevert
from provenance.chain.transactions import Transactor, TxResult
from provenance.errors import ChainError
from provenance.manifest import Manifest, SignedManifest
from provenance.retraction import Retraction, SignedRetraction

RECEIPT_FIELDS = ("blockHash", "blockNumber", "status", "to", "logs")


def snapshot_tuple(m: Manifest) -> tuple[Any, ...]:
    """The manifest as the contract's ``Snapshot`` struct."""
    return (
        m.dataset_id,
        m.version,
        m.root,
        m.size,
        m.schema_hash,
        [(p.dataset_id, p.version, p.root) for p in m.parents],
        m.transform_hash,
        m.created_at,
    )


def retraction_tuple(r: Retraction) -> tuple[Any, ...]:
    """The retraction as the contract's ``Retraction`` struct."""
    return (r.dataset_id, r.version, r.root, r.reason_hash)


class RegistryClient:
    """One deployment of ProvenanceRegistry, seen through one web3 connection."""

    def __init__(self, w3: Web3, address: str, transactor: Transactor | None = None) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=registry_artifact().abi)
        self.tx = transactor or Transactor(w3)
        self._send = self.tx.send
        self._call = self.tx.call

    @classmethod
    def deploy(
        cls, w3: Web3, deployer: LocalAccount, owner: str | None = None, transactor: Transactor | None = None
    ) -> tuple[RegistryClient, TxResult]:
        """Deploy a new registry owned by ``owner`` (default: the deployer)."""
        art = registry_artifact()
        tx = transactor or Transactor(w3)
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        result = tx.send(factory.constructor(owner or deployer.address), deployer)
        address = result.receipt["contractAddress"]
        if not address:
            raise ChainError("deployment receipt has no contract address", code="chain.deploy-failed")
        return cls(w3, address, tx), result

    @property
    def chain_id(self) -> int:
        return self.tx.chain_id

    # --- writes -----------------------------------------------------------------------------

    def register_source(self, signer: str, sender: LocalAccount) -> TxResult:
        return self._send(self.contract.functions.registerSource(to_checksum_address(signer)), sender)

    def revoke_source(self, signer: str, sender: LocalAccount) -> TxResult:
        return self._send(self.contract.functions.revokeSource(to_checksum_address(signer)), sender)

    def set_anchorer(self, anchorer: str, enabled: bool, sender: LocalAccount) -> TxResult:
        return self._send(self.contract.functions.setAnchorer(to_checksum_address(anchorer), enabled), sender)

    def set_log_key(self, verifier_key: str, trusted: bool, sender: LocalAccount) -> TxResult:
        return self._send(self.contract.functions.setLogKey(verifier_key, trusted), sender)

    def authorize_signer(self, dataset_id: bytes, signer: str, sender: LocalAccount) -> TxResult:
        fn = self.contract.functions.authorizeSigner(dataset_id, to_checksum_address(signer))
        return self._send(fn, sender)

    def remove_signer(self, dataset_id: bytes, signer: str, sender: LocalAccount) -> TxResult:
        return self._send(
            self.contract.functions.removeSigner(dataset_id, to_checksum_address(signer)), sender
        )

    def anchor_snapshot(self, signed: SignedManifest, sender: LocalAccount) -> TxResult:
        """Direct anchoring: the contract recovers the EIP-712 signer and checks versions."""
        if (signed.domain.chain_id, signed.domain.verifying_contract) != (self.chain_id, self.address):
            raise ChainError(
                f"manifest is signed for chain {signed.domain.chain_id} registry "
                f"{signed.domain.verifying_contract}, not chain {self.chain_id} registry {self.address}",
                code="chain.wrong-domain",
            )
        fn = self.contract.functions.anchorSnapshot(snapshot_tuple(signed.manifest), signed.signature)
        return self._send(fn, sender)

    def anchor_checkpoint(self, size: int, root: bytes, proof: list[bytes], sender: LocalAccount) -> TxResult:
        return self._send(self.contract.functions.anchorCheckpoint(size, root, proof), sender)

    def retract(self, dataset_id: bytes, version: int, reason_hash: bytes, sender: LocalAccount) -> TxResult:
        return self._send(self.contract.functions.retract(dataset_id, version, reason_hash), sender)

    def retract_signed(self, signed: SignedRetraction, sender: LocalAccount) -> TxResult:
        """Retract a directly anchored snapshot by its source's signed retraction."""
        fn = self.contract.functions.retractSigned(retraction_tuple(signed.retraction), signed.signature)
        return self._send(fn, sender)

    def retract_logged(
        self,
        signed: SignedRetraction,
        manifest: SignedManifest,
        index: int,
        proof: list[bytes],
        sender: LocalAccount,
    ) -> TxResult:
        """Retract a checkpoint-mode snapshot: its manifest is log entry ``index``, proved into the
        latest anchored checkpoint by ``proof``."""
        fn = self.contract.functions.retractLogged(
            retraction_tuple(signed.retraction),
            signed.signature,
            snapshot_tuple(manifest.manifest),
            manifest.signature,
            index,
            proof,
        )
        return self._send(fn, sender)

    def dispute(
        self,
        dataset_id: bytes,
        version: int,
        root: bytes,
        reason_hash: bytes,
        evidence_uri: str,
        sender: LocalAccount,
    ) -> TxResult:
        fn = self.contract.functions.dispute(dataset_id, version, root, reason_hash, evidence_uri)
        return self._send(fn, sender)

    # --- reads ------------------------------------------------------------------------------

    def source_status(self, signer: str) -> int:
        """0 unknown, 1 active, 2 revoked."""
        return int(self._call(self.contract.functions.sourceStatus(to_checksum_address(signer))))

    def is_anchorer(self, account: str) -> bool:
        return bool(self._call(self.contract.functions.isAnchorer(to_checksum_address(account))))

    def is_log_key(self, verifier_key: str) -> bool:
        return bool(self._call(self.contract.functions.isLogKey(verifier_key)))

    def is_retracted(self, dataset_id: bytes, version: int, root: bytes) -> bool:
        return bool(self._call(self.contract.functions.isRetracted(dataset_id, version, root)))

    def dispute_count(self, dataset_id: bytes, version: int, root: bytes) -> int:
        return int(self._call(self.contract.functions.disputeCount(dataset_id, version, root)))

    def owner(self) -> str:
        return to_checksum_address(str(self._call(self.contract.functions.owner())))

    def dataset_owner(self, dataset_id: bytes) -> str | None:
        owner = str(self._call(self.contract.functions.datasetOwner(dataset_id)))
        return None if int(owner, 16) == 0 else to_checksum_address(owner)

    def latest_version(self, dataset_id: bytes) -> int:
        return int(self._call(self.contract.functions.latestVersion(dataset_id)))

    def is_authorized_signer(self, dataset_id: bytes, signer: str) -> bool:
        fn = self.contract.functions.isAuthorizedSigner(dataset_id, to_checksum_address(signer))
        return bool(self._call(fn))

    def snapshot_of(
        self, dataset_id: bytes, version: int, block: int | str = "latest"
    ) -> SnapshotRecord | None:
        try:
            root, size, signer, block_number, retracted = self._call(
                self.contract.functions.snapshotOf(dataset_id, version), block
            )
        except ContractRevert as e:
            if e.error == "SnapshotNotFound":
                return None
            raise
        return SnapshotRecord(
            bytes(root), int(size), to_checksum_address(signer), int(block_number), bool(retracted)
        )

    def snapshot_digest(self, manifest: Manifest) -> bytes:
        return bytes(self._call(self.contract.functions.snapshotDigest(snapshot_tuple(manifest))))

    def checkpoint_count(self) -> int:
        return int(self._call(self.contract.functions.checkpointCount()))

    def latest_checkpoint(self, block: int | str = "latest") -> CheckpointRecord | None:
        try:
            index, size, root = self._call(self.contract.functions.latestCheckpoint(), block)
        except ContractRevert as e:
            if e.error == "NoCheckpoint":
                return None
            raise
        return CheckpointRecord(int(index), int(size), bytes(root))

    def verify_checkpoint(
        self, size: int, root: bytes, proof: list[bytes], block: int | str = "latest"
    ) -> bool:
        """Whether (``size``, ``root``) is a prefix of the latest anchored checkpoint (at ``block``)."""
        return bool(self._call(self.contract.functions.verifyCheckpoint(size, root, proof), block))

    def verify_inclusion(
        self, root: bytes, size: int, index: int, leaf_hash: bytes, proof: list[bytes]
    ) -> bool:
        return bool(self._call(self.contract.functions.verifyInclusion(root, size, index, leaf_hash, proof)))

    def verify_consistency(
        self, size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
    ) -> bool:
        return bool(self._call(self.contract.functions.verifyConsistency(size1, size2, root1, root2, proof)))

    def block_number(self) -> int:
        with rpc_errors():
            return int(self.w3.eth.block_number)

    def receipt(self, tx_hash: bytes) -> Any | None:
        """The receipt of ``tx_hash`` on the current canonical chain, or None."""
        from web3.exceptions import TransactionNotFound

        try:
            with rpc_errors():
                receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None
        if not all(k in receipt for k in RECEIPT_FIELDS):
            raise ChainError(
                "the JSON-RPC node's receipt lacks the fields of a receipt: the node is not believed",
                code="chain.bad-answer",
            )
        return receipt

    def find_event(self, name: str, from_block: int, **filters: Any) -> Any | None:
        """The newest log of event ``name`` matching indexed ``filters`` (e.g. after a lost receipt)."""
        event = getattr(self.contract.events, name)
        with rpc_errors():
            logs = event.get_logs(from_block=from_block, argument_filters=filters or None)
        return logs[-1] if logs else None

    def find_events(self, name: str, from_block: int) -> list[Any]:
        event = getattr(self.contract.events, name)
        with rpc_errors():
            return list(event.get_logs(from_block=from_block))

    def events(self, name: str, receipt: Any) -> list[dict[str, Any]]:
        """Decoded events ``name`` emitted by this registry in ``receipt``."""
        from web3.logs import DISCARD

        event = getattr(self.contract.events, name)()
        return [
            dict(e["args"])
            for e in event.process_receipt(receipt, errors=DISCARD)
            if to_checksum_address(e["address"]) == self.address
        ]
