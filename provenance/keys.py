"""Keystores: source keys (secp256k1, eth-account keystore v3) and log keys (Ed25519, PKCS#8).

Keys live only in encrypted files with mode 0600, never in the database and never in logs.
File names are ``<name>.json`` (source) and ``<name>.pem`` (log) in a keys directory.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_utils.address import to_checksum_address

from provenance.errors import KeyStoreError

_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class KeyInfo:
    name: str
    kind: str  # "source" (secp256k1) or "log" (ed25519)
    path: Path
    public: str  # address for source keys, C2SP verifier key for log keys (when known)


def check_key_name(name: str) -> str:
    if not _KEY_NAME.fullmatch(name):
        raise KeyStoreError(
            f"key name {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}", code="keystore.bad-name"
        )
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise KeyStoreError(
            f"password must be at least {MIN_PASSWORD} characters", code="keystore.weak-password"
        )


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600; refuse to overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyStoreError(
            f"{path} already exists; refusing to overwrite a key", code="keystore.exists"
        ) from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def new_source_key(
    keys_dir: Path, name: str, password: str, *, kdf: str = "scrypt", iterations: int | None = None
) -> KeyInfo:
    """Create an encrypted secp256k1 keystore; returns its address."""
    check_key_name(name)
    _check_password(password)
    account = Account.create()
    keystore = Account.encrypt(account.key, password, kdf=kdf, iterations=iterations)  # type: ignore[arg-type]
    path = keys_dir / f"{name}.json"
    write_private(path, json.dumps(keystore, indent=2).encode())
    return KeyInfo(name, "source", path, account.address)


def read_source_keystore(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise KeyStoreError(f"no keystore at {path}", code="keystore.not-found") from None
    except (OSError, ValueError) as e:
        raise KeyStoreError(f"{path} is not a keystore: {e}", code="keystore.malformed") from None
    if not isinstance(data, dict) or data.get("version") != 3 or "crypto" not in data:
        raise KeyStoreError(f"{path} is not an eth keystore v3 file", code="keystore.malformed")
    return data


def load_source_key(path: Path, password: str) -> bytes:
    """Decrypt a keystore v3 file; wrong passwords and damaged files are told apart."""
    keystore = read_source_keystore(path)
    try:
        return bytes(Account.decrypt(keystore, password))
    except ValueError as e:
        if "MAC mismatch" in str(e):
            raise KeyStoreError(f"wrong password for {path}", code="keystore.bad-password") from None
        raise KeyStoreError(f"{path} cannot be decrypted: {e}", code="keystore.malformed") from None
    except Exception as e:
        raise KeyStoreError(f"{path} cannot be decrypted: {e}", code="keystore.malformed") from None


def new_log_key(keys_dir: Path, name: str, password: str) -> tuple[KeyInfo, Ed25519PrivateKey]:
    """Create an Ed25519 log key as a PKCS#8 PEM encrypted with ``password``."""
    check_key_name(name)
    _check_password(password)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )
    path = keys_dir / f"{name}.pem"
    write_private(path, pem)
    return KeyInfo(name, "log", path, ""), key


def load_log_key(path: Path, password: str) -> Ed25519PrivateKey:
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise KeyStoreError(f"no log key at {path}", code="keystore.not-found") from None
    try:
        key = serialization.load_pem_private_key(pem, password.encode())
    except (ValueError, TypeError) as e:
        raise KeyStoreError(
            f"cannot decrypt {path} (wrong password or damaged file): {e}", code="keystore.bad-password"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyStoreError(f"{path} does not hold an Ed25519 key", code="keystore.malformed")
    return key


def list_keys(keys_dir: Path) -> list[KeyInfo]:
    """Keys in ``keys_dir``; reads only public parts, needs no password."""
    out: list[KeyInfo] = []
    if not keys_dir.is_dir():
        return out
    for path in sorted(keys_dir.iterdir()):
        if path.suffix == ".json":
            try:
                address = to_checksum_address("0x" + read_source_keystore(path)["address"].removeprefix("0x"))
            except (KeyStoreError, KeyError, ValueError):
                continue
            out.append(KeyInfo(path.stem, "source", path, address))
        elif path.suffix == ".pem":
            out.append(KeyInfo(path.stem, "log", path, ""))
    return out
