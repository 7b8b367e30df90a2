"""The EVM primitives a verifier needs, without web3 or eth-account: keccak-256, EIP-55 addresses,
EIP-712 hashing and secp256k1 signer recovery.

Why not eth-account here: importing it costs ~0.7 s (it pulls in keystores and BLS pairing code),
more than a whole verification, and a CI gate or an auditor runs `provenance verify` many times.
eth-account stays the reference: the tests compare every digest, address and recovery with it,
and signing (which only a publisher does) still goes through it.
"""

from __future__ import annotations

from typing import Any

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    return bytes(_keccak.new(data=data, digest_bits=256).digest())


def checksum_address(address: str) -> str:
    """EIP-55 mixed-case form of a 0x-prefixed 20-byte hex address.

    Raises:
        ValueError: not 0x and 40 hex digits.
    """
    raw = address.lower()[2:]
    if not address.startswith("0x") or len(raw) != 40 or any(c not in "0123456789abcdef" for c in raw):
        raise ValueError(f"{address!r} is not a 20-byte hex address")
    digest = keccak256(raw.encode()).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(raw, digest[:40], strict=True))


# --- EIP-712 -------------------------------------------------------------------------------------


def encode_type(primary: str, types: dict[str, list[dict[str, str]]]) -> bytes:
    """``encodeType``: the primary type, then every referenced struct type sorted by name."""
    deps = sorted(_dependencies(primary, types) - {primary})
    return "".join(_type_string(t, types) for t in [primary, *deps]).encode()


def _type_string(name: str, types: dict[str, list[dict[str, str]]]) -> str:
    return f"{name}({','.join(f['type'] + ' ' + f['name'] for f in types[name])})"


def _dependencies(
    name: str, types: dict[str, list[dict[str, str]]], seen: set[str] | None = None
) -> set[str]:
    seen = seen if seen is not None else set()
    if name in seen or name not in types:
        return seen
    seen.add(name)
    for f in types[name]:
        _dependencies(f["type"].removesuffix("[]"), types, seen)
    return seen


def hash_struct(primary: str, data: dict[str, Any], types: dict[str, list[dict[str, str]]]) -> bytes:
    """``hashStruct(s) = keccak256(typeHash || encodeData(s))``."""
    encoded = [keccak256(encode_type(primary, types))]
    encoded += [_encode_value(f["type"], data[f["name"]], types) for f in types[primary]]
    return keccak256(b"".join(encoded))


def _encode_value(kind: str, value: Any, types: dict[str, list[dict[str, str]]]) -> bytes:
    if kind.endswith("[]"):
        item = kind[:-2]
        return keccak256(b"".join(_encode_value(item, v, types) for v in value))
    if kind in types:
        return hash_struct(kind, value, types)
    if kind == "string":
        return keccak256(value.encode())
    if kind == "bytes32":
        if len(value) != 32:
            raise ValueError("bytes32 value must be 32 bytes")
        return bytes(value)
    if kind == "address":
        return bytes(12) + bytes.fromhex(value.removeprefix("0x"))
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)
        if not 0 <= value < 2**bits:
            raise ValueError(f"{value} does not fit {kind}")
        return int(value).to_bytes(32, "big")
    raise ValueError(f"EIP-712 type {kind!r} is not used by this project")


def typed_data_digest(typed: dict[str, Any]) -> bytes:
    """``keccak256(0x1901 || hashStruct(domain) || hashStruct(message))`` of a typed-data document."""
    types = typed["types"]
    domain = hash_struct("EIP712Domain", typed["domain"], types)
    return keccak256(b"\x19\x01" + domain + hash_struct(typed["primaryType"], typed["message"], types))


# --- secp256k1 -----------------------------------------------------------------------------------


def recover_address(digest: bytes, signature: bytes) -> str:
    """The checksummed address whose key signed ``digest`` (65-byte r || s || v, v in {27, 28}).

    Raises:
        ValueError: no key recovers from this signature.
    """
    from coincurve import PublicKey

    if len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("signature must be 65 bytes with v 27 or 28")
    public = PublicKey.from_signature_and_message(
        signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
    )
    return checksum_address("0x" + keccak256(public.format(compressed=False)[1:])[-20:].hex())
