"""Transactions to the registry: signed locally, sent raw, awaited; a revert comes back as a
:class:`ContractRevert` naming the contract's custom error and its arguments (decoded from the
ABI), never as a raw RPC blob."""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError as EvmValidationError
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3RPCError

from provenance.chain.backends import rpc_errors
from provenance.chain.reverts import named_revert
from provenance.errors import ChainError


def _revert_types() -> tuple[type[BaseException], ...]:
    try:  # the embedded backend raises eth-tester's own error for reverts
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # pragma: no cover - eth-tester is a dependency of the embedded backend only
        return (ContractCustomError, ContractLogicError)
    return (ContractCustomError, ContractLogicError, TransactionFailed)


_REVERTS = _revert_types()

# py-evm (the embedded backend) validates a raw transaction and raises ValidationError where a
# node answers with a JSON-RPC error.
_REFUSALS = (Web3RPCError, EvmValidationError)


@dataclass(frozen=True)
class TxResult:
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    receipt: Any


class Transactor:
    """Signs, sends and awaits transactions; decodes reverts. One per web3 connection."""

    def __init__(self, w3: Web3, *, receipt_timeout: float = 120.0, poll: float = 0.05) -> None:
        self.w3 = w3
        self.receipt_timeout = receipt_timeout
        self.poll = poll
        self._nonces: dict[str, int] = {}
        self._lock = threading.Lock()
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with rpc_errors():
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def call(self, fn: Any, block: int | str = "latest") -> Any:
        try:
            with rpc_errors():
                return fn.call(block_identifier=block)
        except _REVERTS as e:
            raise _revert(e) from None
        except Web3RPCError as e:
            raise ChainError(f"registry call failed: {e}", code="chain.call-failed") from None

    def sign(self, fn: Any, sender: LocalAccount) -> tuple[bytes, bytes]:
        """Build and sign a transaction without sending it: ``(raw transaction, tx hash)``.

        The anchoring outbox stores both before broadcasting, so a crash right after sending
        can be resumed by looking the hash up (or broadcasting the same bytes again).
        """
        with self._lock:
            self._nonces.pop(sender.address, None)  # always the node's pending nonce
            nonce = self._next_nonce(sender)
            try:
                with rpc_errors():
                    tx = fn.build_transaction(
                        {"from": sender.address, "nonce": nonce, "chainId": self.chain_id}
                    )
            except _REVERTS as e:
                raise _revert(e) from None
            except Web3RPCError as e:
                raise ChainError(f"transaction refused by the node: {e}", code="chain.tx-refused") from None
            signed = sender.sign_transaction(tx)
            # The nonce is this transaction's now (once broadcast): a send that followed reused it.
            self._nonces.pop(sender.address, None)
            return bytes(signed.raw_transaction), bytes(signed.hash)

    def broadcast(self, raw: bytes) -> None:
        """Send signed bytes; a node that already has them is not an error.

        A nonce the chain has already used is ``chain.nonce-used``: the transaction was mined
        already, or another one took its place.
        """
        try:
            with rpc_errors():
                self.w3.eth.send_raw_transaction(HexBytes(raw))
        except _REFUSALS as e:
            text = str(e).lower()
            if "already known" in text or "already imported" in text or "known transaction" in text:
                return
            if "nonce too low" in text or "invalid transaction nonce" in text:
                raise ChainError(f"nonce already used: {e}", code="chain.nonce-used") from None
            raise ChainError(f"transaction refused by the node: {e}", code="chain.tx-refused") from None

    def send(self, fn: Any, sender: LocalAccount) -> TxResult:
        """Build, sign locally, send raw and wait for the receipt."""
        with self._lock:
            nonce = self._next_nonce(sender)
            try:
                with rpc_errors():
                    tx = fn.build_transaction(
                        {"from": sender.address, "nonce": nonce, "chainId": self.chain_id}
                    )
                    signed = sender.sign_transaction(tx)
                    tx_hash = bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
            except _REVERTS as e:
                raise _revert(e) from None
            except Web3RPCError as e:
                self._nonces.pop(sender.address, None)  # re-read the nonce next time
                raise ChainError(f"transaction refused by the node: {e}", code="chain.tx-refused") from None
            except Exception:
                self._nonces.pop(sender.address, None)
                raise
            self._nonces[sender.address] = nonce + 1
        return self.wait(tx_hash)

    def transfer(self, sender: LocalAccount, to: str, wei: int) -> TxResult:
        """Send ether (e.g. to fund a source key that manages its dataset's signers)."""
        with self._lock:
            nonce = self._next_nonce(sender)
            try:
                with rpc_errors():
                    tx: dict[str, Any] = {
                        "to": to_checksum_address(to),
                        "value": wei,
                        "gas": 21_000,
                        "nonce": nonce,
                        "chainId": self.chain_id,
                        "gasPrice": int(self.w3.eth.gas_price),
                    }
                    tx_hash = bytes(
                        self.w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
                    )
            except Exception:
                self._nonces.pop(sender.address, None)
                raise
            self._nonces[sender.address] = nonce + 1
        return self.wait(tx_hash)

    def forget_nonces(self) -> None:
        """Read each sender's nonce from the node again: a node restarted from its state file
        may have lost its last blocks, and a transaction with a nonce past the chain's would
        wait in its pool forever."""
        with self._lock:
            self._nonces.clear()

    def wait(self, tx_hash: bytes) -> TxResult:
        try:
            with rpc_errors():
                receipt = self.w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=self.receipt_timeout, poll_latency=self.poll
                )
        except TimeExhausted:
            self.forget_nonces()  # e.g. its nonce is past the chain's: the next one re-reads it
            raise ChainError(
                f"no receipt for 0x{tx_hash.hex()} within {self.receipt_timeout} s", code="chain.tx-timeout"
            ) from None
        if receipt["status"] != 1:
            raise ChainError(f"transaction 0x{tx_hash.hex()} reverted", code="chain.tx-reverted")
        return TxResult(
            tx_hash,
            int(receipt["blockNumber"]),
            bytes(receipt["blockHash"]),
            int(receipt["gasUsed"]),
            receipt,
        )

    def _next_nonce(self, sender: LocalAccount) -> int:
        if sender.address not in self._nonces:
            with rpc_errors():
                self._nonces[sender.address] = int(
                    self.w3.eth.get_transaction_count(sender.address, "pending")
                )
        return self._nonces[sender.address]


def _revert_data(e: BaseException) -> bytes | None:
    """The revert payload, from web3's error or (eth-tester) from the exception chain."""
    data = getattr(e, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    seen: BaseException | None = e
    while seen is not None:
        if seen.args and isinstance(seen.args[0], bytes):
            return seen.args[0]
        if seen.args and isinstance(seen.args[0], str) and seen.args[0].startswith(_TESTER_PREFIX):
            # eth-tester's provider formats the payload into its message: "execution reverted: b'...'"
            try:
                value = ast.literal_eval(seen.args[0][len(_TESTER_PREFIX) :])
            except (ValueError, SyntaxError):
                value = None
            if isinstance(value, bytes):
                return value
        seen = seen.__cause__ or seen.__context__
    return None


_TESTER_PREFIX = "execution reverted: "


def _revert(e: BaseException) -> ChainError:
    named = named_revert(_revert_data(e))
    if named is not None:
        return named
    return ChainError(f"registry call reverted: {e}", code="chain.revert")
