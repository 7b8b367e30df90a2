"""EIP-712: the contract's snapshot digest against eth-account's, and the signatures it refuses.

A signature for another chain or another contract recovers to some other address, which is no
registered source: that is how the domain separator shows up in the revert reasons below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from tests.contract.harness import (
    SECP256K1_N,
    Dataset,
    Roles,
    eip712_digest,
    make_manifest,
    manifest_tuple,
    revert_name,
    sha256,
    sign_manifest,
)

pytestmark = pytest.mark.chain

PARENT_A = {"datasetId": Web3.keccak(text="a"), "version": 1, "root": sha256(b"a")}
PARENT_B = {"datasetId": Web3.keccak(text="b"), "version": 2**64 - 1, "root": sha256(b"b")}


@pytest.mark.parametrize(
    "parents", [[], [PARENT_A], [PARENT_A, PARENT_B]], ids=["0 parents", "1 parent", "2 parents"]
)
def test_snapshot_digest_is_eth_accounts(deployed: Contract, parents: list[dict[str, Any]]) -> None:
    m = make_manifest("tm/x", 5, parents)
    on_chain = bytes(deployed.functions.snapshotDigest(manifest_tuple(m)).call())
    assert on_chain == eip712_digest(m, deployed.w3.eth.chain_id, deployed.address)


def test_anchor_snapshot_returns_the_digest(reg: Contract, dataset: Dataset) -> None:
    assert dataset.returned_digest == eip712_digest(dataset.v1, reg.w3.eth.chain_id, reg.address)


# Each forgery: (signature over v1 for the registry's domain, v1, signer, registry) -> bad signature.
Forgery = Callable[[bytes, dict[str, Any], LocalAccount, Contract], bytes]


def high_s(sig: bytes, *_: Any) -> bytes:
    """The same signature with s replaced by n - s (and v flipped): valid ECDSA, refused by EIP-2."""
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


def for_chain_plus_one(_: bytes, m: dict[str, Any], key: LocalAccount, reg: Contract) -> bytes:
    return sign_manifest(m, key.key, reg.w3.eth.chain_id + 1, reg.address)


def for_another_contract(_: bytes, m: dict[str, Any], key: LocalAccount, reg: Contract) -> bytes:
    return sign_manifest(m, key.key, reg.w3.eth.chain_id, Web3.to_checksum_address("0x" + "11" * 20))


FORGERIES: list[tuple[str, Forgery, str]] = [
    ("high-s", high_s, "InvalidSignatureS"),
    ("64-byte", lambda sig, *_: sig[:64], "InvalidSignatureLength"),
    ("66-byte", lambda sig, *_: sig + b"\x00", "InvalidSignatureLength"),
    ("v=29", lambda sig, *_: sig[:64] + b"\x1d", "InvalidSignature"),
    ("wrong chain id", for_chain_plus_one, "SourceNotActive"),
    ("wrong contract", for_another_contract, "SourceNotActive"),
]


@pytest.mark.parametrize(("forge", "error"), [pytest.param(f, e, id=i) for i, f, e in FORGERIES])
def test_bad_signature_refused(
    reg: Contract, roles: Roles, source: LocalAccount, forge: Forgery, error: str
) -> None:
    v1 = make_manifest("tm/ratings/daily", 1)
    sig = sign_manifest(v1, source.key, reg.w3.eth.chain_id, reg.address)
    bad = forge(sig, v1, source, reg)
    assert revert_name(reg.functions.anchorSnapshot(manifest_tuple(v1), bad), roles.relayer) == error


def test_the_unforged_signature_is_accepted(reg: Contract, roles: Roles, source: LocalAccount) -> None:
    """The control of the forgeries above: they fail for what was changed, not for the manifest."""
    v1 = make_manifest("tm/ratings/daily", 1)
    sig = sign_manifest(v1, source.key, reg.w3.eth.chain_id, reg.address)
    assert revert_name(reg.functions.anchorSnapshot(manifest_tuple(v1), sig), roles.relayer) is None
