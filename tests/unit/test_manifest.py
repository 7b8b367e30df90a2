"""Manifests: EIP-712 digest against an independent encoder, signatures, refusals, keystores."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.datasets import dataset_id
from provenance.errors import FormatError, KeyStoreError, SignatureError
from provenance.keys import list_keys, load_source_key, new_source_key
from provenance.lineage import Parent
from provenance.manifest import (
    SECP256K1_N,
    Domain,
    Manifest,
    SignedManifest,
    check_signature_form,
    recover_signer,
    sign,
)
from provenance.records.schema import Schema

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
SNAPSHOT_T = (
    b"Snapshot(bytes32 datasetId,uint64 version,bytes32 root,uint64 size,bytes32 schemaHash,"
    b"Parent[] parents,bytes32 transformHash,uint64 createdAt)"
)
PARENT_T = b"Parent(bytes32 datasetId,uint64 version,bytes32 root)"


def independent_digest(m: Manifest, d: Domain) -> bytes:
    """EIP-712 written out from the spec with eth_abi, to cross-check eth-account's encoder."""
    domain_t = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_t, keccak(b"ProvenanceRegistry"), keccak(b"1"), d.chain_id, d.verifying_contract],
        )
    )
    parent_hashes = b"".join(
        keccak(
            encode(
                ["bytes32", "bytes32", "uint64", "bytes32"],
                [keccak(PARENT_T), p.dataset_id, p.version, p.root],
            )
        )
        for p in m.parents
    )
    struct = keccak(
        encode(
            ["bytes32", "bytes32", "uint64", "bytes32", "uint64", "bytes32", "bytes32", "bytes32", "uint64"],
            [
                keccak(SNAPSHOT_T + PARENT_T),
                m.dataset_id,
                m.version,
                m.root,
                m.size,
                m.schema_hash,
                keccak(parent_hashes),
                m.transform_hash,
                m.created_at,
            ],
        )
    )
    return keccak(b"\x19\x01" + separator + struct)


def manifest(**kw: object) -> Manifest:
    base: dict[str, object] = dict(
        dataset="tm/ratings/daily",
        version=1,
        root=b"\x11" * 32,
        size=10,
        schema=Schema(("symbol",)),
        created_at=1764288000,
    )
    base.update(kw)
    return Manifest(**base)  # type: ignore[arg-type]


parents = st.lists(
    st.builds(
        Parent,
        st.binary(min_size=32, max_size=32),
        st.integers(1, 2**64 - 1),
        st.binary(min_size=32, max_size=32),
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(
    version=st.integers(1, 2**64 - 1),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    created=st.integers(0, 2**64 - 1),
    ps=parents,
    chain=st.integers(1, 2**32),
)
def test_digest_matches_independent_eip712(
    version: int, size: int, root: bytes, created: int, ps: list[Parent], chain: int
) -> None:
    m = manifest(
        version=version,
        size=size,
        root=root,
        created_at=created,
        parents=tuple(ps),
        transform={"name": "grade", "code": "git:abc", "params": {"w": 1}} if ps else None,
    )
    d = Domain(chain, "0x" + "ab" * 20)
    assert m.digest(d) == independent_digest(m, d)


def test_dataset_id_and_names() -> None:
    assert dataset_id("tm/ratings/daily") == keccak(b"tm/ratings/daily")
    for bad in ["", "Upper", "-x", "a" * 129, "a b", "a\n", "é"]:
        with pytest.raises(FormatError):
            dataset_id(bad)


def test_sign_and_recover() -> None:
    m = manifest()
    signed = sign(m, DOMAIN, KEY)
    assert signed.signer == Account.from_key(KEY).address
    assert recover_signer(m, DOMAIN, signed.signature) == signed.signer
    round_trip = SignedManifest.from_json(signed.to_json())
    assert round_trip == signed


def test_signature_binds_chain_and_contract() -> None:
    m = manifest()
    sig = sign(m, DOMAIN, KEY).signature
    me = Account.from_key(KEY).address
    assert recover_signer(m, Domain(1, DOMAIN.verifying_contract), sig) != me
    assert recover_signer(m, Domain(31337, "0x" + "00" * 19 + "01"), sig) != me


def test_high_s_and_malformed_signatures_are_refused() -> None:
    m = manifest()
    sig = sign(m, DOMAIN, KEY).signature
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # same key, malleated
    with pytest.raises(SignatureError) as err:
        recover_signer(m, DOMAIN, high)
    assert err.value.code == "signature.high-s"
    cases = [
        sig[:64],
        sig + b"\x00",
        sig[:64] + b"\x01",
        sig[:64] + b"\x1d",
        b"\x00" * 32 + sig[32:],
        sig[:32] + b"\x00" * 32 + sig[64:],
        SECP256K1_N.to_bytes(32, "big") + sig[32:],
        b"",
    ]
    for bad in cases:
        with pytest.raises(SignatureError) as err:
            check_signature_form(bad)
        assert err.value.code == "signature.malformed"


def test_signed_manifest_refuses_a_wrong_claimed_signer() -> None:
    doc = sign(manifest(), DOMAIN, KEY).to_json()
    doc["signer"] = "0x" + "12" * 20
    with pytest.raises(SignatureError) as err:
        SignedManifest.from_json(doc)
    assert err.value.code == "signature.signer-mismatch"


def test_manifest_json_round_trip_and_refusals() -> None:
    m = manifest(
        parents=(Parent(dataset_id("tm/prices"), 3, b"\x22" * 32, "tm/prices"),),
        transform={"name": "grade", "code": "sha256:00", "params": {}},
    )
    doc = m.to_json()
    assert Manifest.from_json(doc) == m
    for field, value in [
        ("datasetId", "0x" + "00" * 32),
        ("schemaHash", "0x" + "00" * 32),
        ("transformHash", "0x" + "00" * 32),
    ]:
        with pytest.raises(FormatError) as err:
            Manifest.from_json({**doc, field: value})
        assert err.value.code == "manifest.inconsistent"
    bad_docs = [
        {**doc, "format": "x"},
        {**doc, "version": 0},
        {**doc, "version": 2**64},
        {**doc, "version": "1"},
        {**doc, "root": "0x12"},
        {**doc, "extra": 1},
        {k: v for k, v in doc.items() if k != "size"},
        {**doc, "parents": {}},
        {**doc, "transform": {"name": "x"}},
        {**doc, "size": True},
        "not an object",
    ]
    for bad in bad_docs:
        with pytest.raises(FormatError):
            Manifest.from_json(bad)
    with pytest.raises(FormatError, match="parents must name its transform"):
        manifest(parents=m.parents)


def test_keystores(tmp_path: Path) -> None:
    info = new_source_key(tmp_path, "pub", "a good password", kdf="pbkdf2", iterations=2)
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    key = load_source_key(info.path, "a good password")
    assert Account.from_key(key).address == info.public
    with pytest.raises(KeyStoreError) as err:
        load_source_key(info.path, "wrong password")
    assert err.value.code == "keystore.bad-password"
    with pytest.raises(KeyStoreError) as err:
        new_source_key(tmp_path, "pub", "a good password", kdf="pbkdf2", iterations=2)
    assert err.value.code == "keystore.exists"
    with pytest.raises(KeyStoreError):
        new_source_key(tmp_path, "x", "short")
    with pytest.raises(KeyStoreError):
        new_source_key(tmp_path, "../escape", "a good password")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(KeyStoreError) as err:
        load_source_key(tmp_path / "junk.json", "a good password")
    assert err.value.code == "keystore.malformed"
    assert [k.name for k in list_keys(tmp_path)] == ["pub"]
