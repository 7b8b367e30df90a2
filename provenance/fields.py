"""Typed field parsers shared by the signed formats (manifests, parents, refs): 0x-hex, bytes32,
uint64. Each refuses with a ``FormatError`` naming the field."""

from __future__ import annotations

from typing import Any

from provenance.errors import FormatError

UINT64_MAX = 2**64 - 1
ZERO32 = b"\x00" * 32


def hex_str(value: bytes) -> str:
    return "0x" + value.hex()


def hexbytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise FormatError(f"{what} must be a 0x-prefixed hex string", code="manifest.malformed")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise FormatError(f"{what} is not valid hex", code="manifest.malformed") from None


def bytes32(value: Any, what: str) -> bytes:
    out = hexbytes(value, what)
    if len(out) != 32:
        raise FormatError(f"{what} must be 32 bytes", code="manifest.malformed")
    return out


def check_bytes32(value: Any, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise FormatError(f"{what} must be 32 bytes", code="manifest.malformed")


def check_uint64(value: Any, what: str, minimum: int = 0) -> None:
    if type(value) is not int or not minimum <= value <= UINT64_MAX:
        raise FormatError(f"{what} must be an integer in [{minimum}, 2^64-1]", code="manifest.malformed")
