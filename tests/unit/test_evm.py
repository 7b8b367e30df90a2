"""The verifier's own EVM primitives agree with eth-account and eth-utils (the reference) on
every digest, address and recovery — differential, over generated manifests, domains and keys."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import evm
from provenance.lineage import Parent
from provenance.manifest import Domain, Manifest, sign
from provenance.records.schema import Schema

h32 = st.binary(min_size=32, max_size=32)
u64 = st.integers(0, 2**64 - 1)
names = st.from_regex(r"[a-z0-9][a-z0-9._/-]{0,30}", fullmatch=True)


@st.composite
def manifests(draw: Any) -> Manifest:
    parents = draw(st.lists(st.tuples(names, st.integers(1, 2**64 - 1), h32), max_size=3))
    transform = (
        {"name": "t", "code": "git:" + "a" * 40, "params": {"w": draw(st.integers(-(2**53) + 1, 2**53 - 1))}}
        if parents
        else None
    )
    return Manifest(
        dataset=draw(names),
        version=draw(st.integers(1, 2**64 - 1)),
        root=draw(h32),
        size=draw(u64),
        schema=Schema(("id",), {"v": "number"}),
        created_at=draw(u64),
        parents=tuple(Parent(evm.keccak256(n.encode()), v, r, n) for n, v, r in parents),
        transform=transform,
    )


domains = st.builds(
    Domain,
    st.integers(1, 2**64 - 1),
    st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
)


@settings(max_examples=200, deadline=None)
@given(manifests(), domains)
def test_eip712_digest_is_eth_accounts(manifest: Manifest, domain: Domain) -> None:
    msg = encode_typed_data(full_message=manifest.typed_data(domain))
    assert manifest.digest(domain) == bytes(keccak(b"\x19" + msg.version + msg.header + msg.body))


@settings(max_examples=50, deadline=None)
@given(manifests(), domains, st.integers(1, 2**255))
def test_recovery_is_eth_accounts(manifest: Manifest, domain: Domain, secret: int) -> None:
    key = (secret % (2**256 - 2**32 - 977 - 1) + 1).to_bytes(32, "big")
    signed = sign(manifest, domain, key)
    assert evm.recover_address(manifest.digest(domain), signed.signature) == Account.from_key(key).address
    assert (
        str(Account.recover_message(manifest.signable(domain), signature=signed.signature)) == signed.signer
    )


@given(st.binary(min_size=20, max_size=20), st.binary(max_size=200))
def test_addresses_and_keccak_are_eth_utils(raw: bytes, data: bytes) -> None:
    assert evm.checksum_address("0x" + raw.hex()) == to_checksum_address("0x" + raw.hex())
    assert evm.keccak256(data) == bytes(keccak(data))


@pytest.mark.parametrize("bad", ["0x12", "12" * 20, "0x" + "zz" * 20])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="20-byte hex address"):
        evm.checksum_address(bad)


def test_a_signature_that_recovers_no_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="v 27 or 28"):
        evm.recover_address(b"\x00" * 32, b"\x01" * 64 + b"\x05")
