"""Shared harness of the contract tests (tests/contract) and scripts/gas_report.py.

A throwaway anvil node, ProvenanceRegistry deployed from the committed artifact, transactions,
EVM snapshots, custom-error decoding, and EIP-712 snapshot manifests built, hashed and signed with
eth-account, an implementation independent of the contract and of `provenance.manifest`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.logs import DISCARD
from web3.types import RPCEndpoint, TxReceipt, Wei

from provenance.merkle import MerkleTree

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "provenance" / "chain" / "artifacts" / "ProvenanceRegistry.json"
ANVIL_CANDIDATES = (
    ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
    ROOT / "node_modules" / ".bin" / "anvil",
)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO_ADDRESS = "0x" + "00" * 20
UINT64_MAX = 2**64 - 1
PANIC_OVERFLOW = "4e487b71" + "11".rjust(64, "0")  # Panic(0x11) revert data


class AnvilError(RuntimeError):
    """anvil is not installed or did not start."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def demo_tree(size: int) -> MerkleTree:
    """A tree over `size` deterministic 32-byte leaf inputs."""
    return MerkleTree.from_leaf_inputs([sha256(i.to_bytes(8, "big")) for i in range(size)])


# --------------------------------------------------------------------------- anvil + contract


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(w3: Web3, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(Exception):  # connection refused until anvil listens
            if w3.is_connected():
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            err = proc.stderr.read().decode() if proc.stderr and proc.poll() is not None else ""
            raise AnvilError(f"anvil did not start: {err}")
        time.sleep(0.05)


@contextlib.contextmanager
def anvil(hardfork: str | None = None, extra_args: Sequence[str] = ()) -> Iterator[Web3]:
    """Runs a fresh anvil on 127.0.0.1 for the duration of the block and yields a Web3 for it."""
    binary = next((p for p in ANVIL_CANDIDATES if p.exists()), None)
    if binary is None:
        raise AnvilError("anvil not found: run `npm ci` first")
    port = _free_port()
    cmd = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", "--gas-limit", "60000000"]
    if hardfork:
        cmd += ["--hardfork", hardfork]
    cmd += list(extra_args)
    # anvil writes nothing outside the process without --state/--fork-url, so no XDG_* setup here.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", cache_allowed_requests=True))
        _wait_until_up(w3, proc)
        yield w3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@functools.cache
def load_artifact() -> dict[str, Any]:
    artifact: dict[str, Any] = json.loads(ARTIFACT.read_text())
    return artifact


def deploy(w3: Web3, owner: str) -> tuple[Contract, TxReceipt]:
    """ProvenanceRegistry from the committed artifact, owned by `owner`, and its deploy receipt."""
    art = load_artifact()
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(owner).transact({"from": owner})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    # web3 types `eth.contract` as a contract class or instance; with an address it is an instance.
    reg = cast(Contract, w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"]))
    return reg, receipt


def accounts(w3: Web3) -> list[str]:
    """anvil's unlocked, funded accounts."""
    return list(w3.eth.accounts)


def fund(w3: Web3, address: str) -> None:
    tx = w3.eth.send_transaction({"from": accounts(w3)[0], "to": address, "value": Wei(10**18)})
    w3.eth.wait_for_transaction_receipt(tx)


def send(fn: ContractFunction, sender: str) -> TxReceipt:
    """Sends a contract transaction from an anvil account and returns its receipt; raises if it reverted."""
    tx = fn.transact({"from": sender})
    receipt = fn.w3.eth.wait_for_transaction_receipt(tx)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction reverted: {tx.hex()}")
    return receipt


def send_as(w3: Web3, fn: ContractFunction, account: LocalAccount) -> TxReceipt:
    """Signs a contract transaction locally with `account` (not an anvil account) and sends it."""
    tx = fn.build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
    )
    signed = account.sign_transaction(cast(dict[str, Any], tx))  # a TxParams is such a dict
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    if receipt["status"] != 1:
        raise RuntimeError("transaction reverted")
    return receipt


def evm_snapshot(w3: Web3) -> str:
    return str(w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"])


def evm_revert(w3: Web3, snap: str) -> None:
    if w3.provider.make_request(RPCEndpoint("evm_revert"), [snap])["result"] is not True:
        raise RuntimeError(f"evm_revert({snap}) failed")


@contextlib.contextmanager
def reverted(w3: Web3) -> Iterator[None]:
    """Undoes every state change made in the block (anvil's evm_snapshot / evm_revert)."""
    snap = evm_snapshot(w3)
    try:
        yield
    finally:
        evm_revert(w3, snap)


def call_all(fns: Sequence[ContractFunction]) -> list[Any]:
    """The results of many view calls, sent as one JSON-RPC batch (about twice as fast as one by one).

    A batch fails as a whole when one call reverts; the calls are then made one by one, so that
    the revert shows up as the result (a string) of the call that made it.
    """
    if not fns:
        return []
    try:
        with fns[0].w3.batch_requests() as batch:
            for fn in fns:
                batch.add(fn)
            return list(batch.execute())
    except ContractLogicError:  # the base of the custom-error and panic exceptions
        return [_result_or_revert(fn) for fn in fns]


def _result_or_revert(fn: ContractFunction) -> Any:
    try:
        return fn.call()
    except ContractLogicError as exc:
        return f"reverted: {exc!r}"


# --------------------------------------------------------------------------- reverts and checks


@functools.cache
def error_selectors() -> dict[str, str]:
    """{4-byte selector hex: custom error name} of the registry's ABI."""
    out = {}
    for item in load_artifact()["abi"]:
        if item["type"] == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            out[Web3.keccak(text=sig)[:4].hex().removeprefix("0x")] = item["name"]
    return out


def revert_name(fn: ContractFunction, sender: str) -> str | None:
    """Name of the custom error `fn` reverts with (eth_call from `sender`), or None if it succeeds.

    A panic comes back as "Panic:<revert data>", an unknown selector as "unknown:...".
    """
    try:
        fn.call({"from": sender})
    except ContractPanicError as exc:
        return f"Panic:{exc.data if isinstance(exc.data, str) else exc}"
    except (ContractCustomError, ContractLogicError) as exc:
        data = exc.data if isinstance(exc.data, str) else str(exc.data)
        sel = data.removeprefix("0x")[:8]
        return error_selectors().get(sel, f"unknown:{data[:10]}:{exc}")
    return None


def mismatches(checks: Iterable[tuple[str, object, object]]) -> list[str]:
    """The named checks `(name, got, want)` whose `got != want`, one 'name: got X, want Y' each."""
    return [f"{name}: got {got!r}, want {want!r}" for name, got, want in checks if got != want]


MAX_SHOWN = 40  # failed checks named in a message; a broken contract fails hundreds at once


def check_all(checks: Iterable[tuple[str, object, object]]) -> None:
    """Makes every check `(name, got, want)` and fails naming each one that did not hold.

    For tests that sweep many cases: a plain assert would stop at the first bad case.
    """
    made = list(checks)
    failed = mismatches(made)
    if failed:
        shown = failed[:MAX_SHOWN] + (
            [f"... and {len(failed) - MAX_SHOWN} more"] if len(failed) > MAX_SHOWN else []
        )
        raise AssertionError(f"{len(failed)} of {len(made)} checks failed:\n" + "\n".join(shown))


def check_views(cases: Iterable[tuple[str, ContractFunction, object]]) -> None:
    """check_all over `(name, view call, the result it must return)`, the calls sent as one batch."""
    cases = list(cases)
    results = call_all([fn for _, fn, _ in cases])
    check_all((name, got, want) for (name, _, want), got in zip(cases, results, strict=True))


def check_reverts(cases: Iterable[tuple[str, ContractFunction, str, str]]) -> None:
    """check_all over `(name, call, sender, custom error it must revert with)`."""
    check_all((name, revert_name(fn, sender), want) for name, fn, sender, want in cases)


def tampered(proof: Sequence[bytes], k: int) -> list[bytes]:
    """The proof with its node `k` replaced by that node's hash."""
    bad = list(proof)
    bad[k] = sha256(bad[k])
    return bad


# --------------------------------------------------------------------------- EIP-712 manifests

PARENT_FIELDS = [
    {"name": "datasetId", "type": "bytes32"},
    {"name": "version", "type": "uint64"},
    {"name": "root", "type": "bytes32"},
]
SNAPSHOT_FIELDS = [
    {"name": "datasetId", "type": "bytes32"},
    {"name": "version", "type": "uint64"},
    {"name": "root", "type": "bytes32"},
    {"name": "size", "type": "uint64"},
    {"name": "schemaHash", "type": "bytes32"},
    {"name": "parents", "type": "Parent[]"},
    {"name": "transformHash", "type": "bytes32"},
    {"name": "createdAt", "type": "uint64"},
]


def typed_data(manifest: dict[str, Any], chain_id: int, contract: str) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Snapshot": SNAPSHOT_FIELDS,
            "Parent": PARENT_FIELDS,
        },
        "primaryType": "Snapshot",
        "domain": {
            "name": "ProvenanceRegistry",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": contract,
        },
        "message": manifest,
    }


def eip712_digest(manifest: dict[str, Any], chain_id: int, contract: str) -> bytes:
    msg = encode_typed_data(full_message=typed_data(manifest, chain_id, contract))
    return Web3.keccak(b"\x19" + msg.version + msg.header + msg.body)


def sign_manifest(manifest: dict[str, Any], key: Any, chain_id: int, contract: str) -> bytes:
    msg = encode_typed_data(full_message=typed_data(manifest, chain_id, contract))
    return bytes(Account.sign_message(msg, key).signature)


def manifest_tuple(m: dict[str, Any]) -> tuple[Any, ...]:
    """The manifest as the contract's `Snapshot` struct argument."""
    parents = [(p["datasetId"], p["version"], p["root"]) for p in m["parents"]]
    return (
        m["datasetId"],
        m["version"],
        m["root"],
        m["size"],
        m["schemaHash"],
        parents,
        m["transformHash"],
        m["createdAt"],
    )


def make_manifest(name: str, version: int, parents: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "datasetId": Web3.keccak(text=name),
        "version": version,
        "root": sha256(f"{name}/{version}".encode()),
        "size": 1_000_000 + version,
        "schemaHash": sha256(b'{"fields":[]}'),
        "parents": list(parents),
        "transformHash": sha256(b"transform") if parents else b"\x00" * 32,
        "createdAt": 1_764_000_000 + version,
    }


def signed_anchor(reg: Contract, manifest: dict[str, Any], key: Any) -> ContractFunction:
    """anchorSnapshot of `manifest` signed with `key` for this registry's chain and address."""
    sig = sign_manifest(manifest, key, reg.w3.eth.chain_id, reg.address)
    return reg.functions.anchorSnapshot(manifest_tuple(manifest), sig)


# --------------------------------------------------------------------------- who does what in the tests


@dataclass(frozen=True)
class Roles:
    """anvil's unlocked accounts, by what the tests use them for."""

    owner: str  # deploys the registry, registers sources, sets anchorers
    relayer: str  # sends signed snapshots it did not sign
    primary: str  # the first anchorer enabled: the primary anchorer
    secondary: str  # a second, non-primary anchorer
    stranger: str  # never given any permission
    third: str  # an anchorer enabled once the primary is disabled


@dataclass(frozen=True)
class Keys:
    """Local keys (not anvil accounts) that sign manifests; funded so they can send transactions."""

    source: LocalAccount  # registered source, owner of the dataset it claims
    rotated: LocalAccount  # a signer the dataset owner authorises
    stranger: LocalAccount  # never registered nor authorised
    other: LocalAccount  # the source of a second dataset


@dataclass(frozen=True)
class Dataset:
    """Version 1 of "tm/ratings/daily", anchored by the relayer, signed by `Keys.source`."""

    v1: dict[str, Any]
    receipt: TxReceipt
    returned_digest: bytes  # what anchorSnapshot returned (by eth_call just before the transaction)

    @property
    def id(self) -> bytes:
        return bytes(self.v1["datasetId"])


def events(reg: Contract, name: str, receipt: TxReceipt) -> list[dict[str, Any]]:
    """The args of every `name` event the registry emitted in the transaction."""
    return [dict(e["args"]) for e in reg.events[name]().process_receipt(receipt, errors=DISCARD)]
