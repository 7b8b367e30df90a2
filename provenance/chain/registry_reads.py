"""The registry's reads over plain JSON-RPC: what a verifier needs from a chain, without web3.

The calls and events are the ones the compiled artifact's ABI declares; their arguments and
answers are static 32-byte words (and one string), encoded and decoded here as the ABI
specifies, strictly: a word with non-zero padding is not believed. A failed ``eth_call`` is
read as web3 reads it (``raise_contract_logic_error_on_revert``), so the verdicts are web3's:
tests/unit/chain/test_registry_reads.py runs every chain case of the differential corpus through
both readers, and tests/integration/chain/test_hostile_rpc.py lies to both over HTTP.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from provenance.chain.artifact import registry_artifact
from provenance.chain.jsonrpc import NodeError, Request, bad_answer
from provenance.chain.reads import CheckpointRecord, Receipt, SnapshotRecord
from provenance.chain.reverts import ContractRevert, named_revert
from provenance.errors import ChainError
from provenance.evm import checksum_address, keccak256

RECEIPT_FIELDS = ("blockHash", "blockNumber", "status", "to", "logs")
ERROR_STRING, OFFCHAIN_LOOKUP, PANIC = "0x08c379a0", "0x556f1830", "0x4e487b71"


class AbiDecodingError(ValueError):
    """A word that is not the type it is read as (eth_abi's strict decoding refuses it too)."""


# --- ABI words -----------------------------------------------------------------------------------


def decode_word(kind: str, word: bytes) -> Any:
    if kind == "bytes32":
        return word
    if kind == "address":
        if any(word[:12]):
            raise AbiDecodingError("non-empty padding bytes in address")
        return checksum_address("0x" + word[12:].hex())
    value = int.from_bytes(word, "big")
    bits = 1 if kind == "bool" else int(kind[4:] or 256)
    if value >> bits:
        raise AbiDecodingError(f"non-empty padding bytes in {kind}")
    return value == 1 if kind == "bool" else value


def decode_words(kinds: list[str], data: bytes) -> list[Any]:
    if len(data) < 32 * len(kinds):
        raise AbiDecodingError("too little data")
    return [decode_word(k, data[32 * i : 32 * i + 32]) for i, k in enumerate(kinds)]


def _encode_word(kind: str, value: Any) -> bytes:
    if kind == "bytes32":
        if not isinstance(value, bytes) or len(value) != 32:
            raise ValueError("a bytes32 argument must be 32 bytes")
        return value
    if kind == "address":
        return bytes(12) + bytes.fromhex(checksum_address(value)[2:])
    return int(value).to_bytes(32, "big")


def encode_args(kinds: list[str], args: tuple[Any, ...]) -> bytes:
    """Static words in the head; a string's length and padded bytes in the tail."""
    heads, tails = [], []
    offset = 32 * len(kinds)
    for kind, arg in zip(kinds, args, strict=True):
        if kind != "string":
            heads.append(_encode_word(kind, arg))
            continue
        data = str(arg).encode()
        padded = data + bytes(-len(data) % 32)
        heads.append(offset.to_bytes(32, "big"))
        tails += [len(data).to_bytes(32, "big"), padded]
        offset += 32 + len(padded)
    return b"".join(heads + tails)


@cache
def _function(name: str) -> tuple[bytes, list[str], list[str]]:
    """(selector, input types, output types) of the registry's function ``name``."""
    item = next(i for i in registry_artifact().abi if i["type"] == "function" and i["name"] == name)
    inputs = [i["type"] for i in item["inputs"]]
    return keccak256(f"{name}({','.join(inputs)})".encode())[:4], inputs, [o["type"] for o in item["outputs"]]


@cache
def _event(name: str) -> tuple[bytes, list[tuple[str, str, bool]]]:
    """(topic 0, [(name, type, indexed)]) of the registry's event ``name``."""
    item = next(i for i in registry_artifact().abi if i["type"] == "event" and i["name"] == name)
    inputs = [(i["name"], i["type"], bool(i["indexed"])) for i in item["inputs"]]
    signature = f"{name}({','.join(t for _, t, _ in inputs)})"
    return keccak256(signature.encode()), inputs


def hex_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise AbiDecodingError("not a hex string")
    return bytes.fromhex(value.removeprefix("0x"))


def quantity(value: Any) -> int:
    """A JSON-RPC quantity (0x-hex), or what a node sent instead: refused."""
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise bad_answer("not a quantity")


# --- a failed eth_call ---------------------------------------------------------------------------


def _classify(error: Any) -> Exception:
    """What web3 makes of an ``eth_call``'s error object, then Transactor.call of that."""
    if not isinstance(error, dict):
        return NodeError(error)
    message = error.get("message")
    present = message not in (None, "")
    data = error.get("data", ...)
    if data is None or (isinstance(data, dict) and present):
        return _reverted(None, message)
    if isinstance(data, str):
        head = data[:10]
        if (
            data.startswith("Reverted ")
            or head in (OFFCHAIN_LOOKUP, PANIC)
            or (len(data) >= 10 and head != ERROR_STRING)
        ):
            return _reverted(None if data.startswith("Reverted ") else data, message)
    if present and (error.get("code") == 3 or "execution reverted" in str(message)):
        return _reverted(data, message)
    return ChainError(f"registry call failed: {message}", code="chain.call-failed")


def _reverted(data: Any, message: Any) -> ChainError:
    raw = None
    if isinstance(data, str) and data.startswith("0x"):
        try:
            raw = bytes.fromhex(data[2:])
        except ValueError:
            raw = None
    return named_revert(raw) or ChainError(f"registry call reverted: {message}", code="chain.revert")


# --- the reads -----------------------------------------------------------------------------------


class RpcRegistry:
    """One deployment of ProvenanceRegistry, read through ``request`` (a :class:`JsonRpc`'s)."""

    def __init__(self, request: Request, address: str) -> None:
        self.request = request
        self.address = checksum_address(address)

    def _call(self, name: str, *args: Any) -> list[Any]:
        selector, inputs, outputs = _function(name)
        data = "0x" + (selector + encode_args(inputs, args)).hex()
        try:
            result = self.request("eth_call", [{"to": self.address, "data": data}, "latest"])
        except NodeError as e:
            raise _classify(e.error) from None
        try:
            raw = hex_bytes(result)
        except (AbiDecodingError, ValueError):
            raise bad_answer("BadFunctionCallOutput") from None
        if not raw and outputs:  # web3 asks whether there is code at all before saying so
            try:
                self.request("eth_getCode", [self.address, "latest"])
            except NodeError as e:
                raise ChainError(f"registry call failed: {e}", code="chain.call-failed") from None
        try:
            return decode_words(outputs, raw)
        except AbiDecodingError:
            raise bad_answer("BadFunctionCallOutput") from None

    def source_status(self, signer: str) -> int:
        return int(self._call("sourceStatus", signer)[0])

    def is_authorized_signer(self, dataset_id: bytes, signer: str) -> bool:
        return bool(self._call("isAuthorizedSigner", dataset_id, signer)[0])

    def snapshot_of(self, dataset_id: bytes, version: int) -> SnapshotRecord | None:
        try:
            root, size, signer, block_number, retracted = self._call("snapshotOf", dataset_id, version)
        except ContractRevert as e:
            if e.error == "SnapshotNotFound":
                return None
            raise
        return SnapshotRecord(root, size, signer, block_number, retracted)

    def latest_checkpoint(self) -> CheckpointRecord | None:
        try:
            index, size, root = self._call("latestCheckpoint")
        except ContractRevert as e:
            if e.error == "NoCheckpoint":
                return None
            raise
        return CheckpointRecord(index, size, root)

    def is_log_key(self, verifier_key: str) -> bool:
        return bool(self._call("isLogKey", verifier_key)[0])

    def is_retracted(self, dataset_id: bytes, version: int, root: bytes) -> bool:
        return bool(self._call("isRetracted", dataset_id, version, root)[0])

    def dispute_count(self, dataset_id: bytes, version: int, root: bytes) -> int:
        return int(self._call("disputeCount", dataset_id, version, root)[0])

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """The receipt of ``tx_hash`` on the node's canonical chain, or None."""
        raw = self.request("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
        if raw is None:
            return None
        if not isinstance(raw, dict) or not all(k in raw for k in RECEIPT_FIELDS):
            raise ChainError(
                "the JSON-RPC node's receipt lacks the fields of a receipt: the node is not believed",
                code="chain.bad-answer",
            )
        try:
            to = checksum_address(raw["to"]) if raw["to"] else None
            block_hash = hex_bytes(raw["blockHash"])
        except ValueError:
            raise bad_answer("receipt") from None
        return Receipt(block_hash, quantity(raw["blockNumber"]), quantity(raw["status"]), to, raw["logs"])

    def events(self, name: str, receipt: Receipt) -> list[dict[str, Any]]:
        """Decoded events ``name`` this registry emitted in ``receipt`` (logs of another event, or
        too short for this one, are passed over as web3's ``process_receipt`` passes them)."""
        topic0, inputs = _event(name)
        indexed = [(n, t) for n, t, i in inputs if i]
        plain = [(n, t) for n, t, i in inputs if not i]
        out = []
        for log in receipt.logs if isinstance(receipt.logs, list) else []:
            topics = [hex_bytes(t) for t in log.get("topics") or []]
            if not topics or topics[0] != topic0 or len(topics) - 1 != len(indexed):
                continue
            data = hex_bytes(log.get("data") or "0x")
            if len(data) < 32 * len(plain) or any(len(t) < 32 for t in topics[1:]):
                continue
            args = dict(zip([n for n, _ in plain], decode_words([t for _, t in plain], data), strict=True))
            for (n, t), topic in zip(indexed, topics[1:], strict=True):
                args[n] = decode_word(t, topic[:32])
            if checksum_address(log.get("address")) == self.address:
                out.append(args)
        return out


class RpcChain:
    """A :class:`~provenance.chain.reads.ChainReads` over one JSON-RPC endpoint."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self._chain_id: int | None = None

    def chain_id(self) -> int:
        if self._chain_id is None:  # a node's chain id does not change (web3 caches it too)
            self._chain_id = quantity(self.request("eth_chainId", []))
        return self._chain_id

    def block_number(self) -> int:
        return quantity(self.request("eth_blockNumber", []))

    def block(self, number: int) -> tuple[bytes, int] | None:
        block = self.request("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            return None
        if not isinstance(block, dict):
            raise bad_answer("not a block")
        try:
            return hex_bytes(block.get("hash")), quantity(block.get("timestamp"))
        except ValueError:
            raise bad_answer("block") from None

    def registry(self, address: str) -> RpcRegistry:
        return RpcRegistry(self.request, address)
