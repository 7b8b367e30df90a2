"""The snapshot manifest: what a source signs about one version of a dataset (docs/ARCHITECTURE.md, Formats).

Its EIP-712 encoding (eth-account) is exactly the struct ``ProvenanceRegistry`` recovers
on-chain, so a signature made here is accepted by ``anchorSnapshot`` and by any EIP-712 tool.
Signatures are 65 bytes ``r || s || v`` with ``v`` in {27, 28} and low ``s`` (EIP-2), as
OpenZeppelin's ECDSA requires; anything else is refused before recovery.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from provenance.datasets import check_dataset_name, dataset_id
from provenance.errors import FormatError, SignatureError
from provenance.evm import checksum_address, recover_address, typed_data_digest
from provenance.fields import UINT64_MAX, bytes32, check_bytes32, check_uint64, hex_str, hexbytes
from provenance.lineage import Parent, check_transform, transform_hash
from provenance.quality.report import QualitySummary
from provenance.records.schema import Schema

MANIFEST_FORMAT = "provenance-manifest/v1"
# v2: the schema has data-quality rules and the manifest carries its quality report's summary,
# which the signed schemaHash commits to (see Manifest.schema_hash). The EIP-712 struct, and so
# the contract, are unchanged; a v1 manifest is byte for byte what it was.
MANIFEST_FORMAT_V2 = "provenance-manifest/v2"
DOMAIN_NAME = "ProvenanceRegistry"
DOMAIN_VERSION = "1"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Snapshot": [
        {"name": "datasetId", "type": "bytes32"},
        {"name": "version", "type": "uint64"},
        {"name": "root", "type": "bytes32"},
        {"name": "size", "type": "uint64"},
        {"name": "schemaHash", "type": "bytes32"},
        {"name": "parents", "type": "Parent[]"},
        {"name": "transformHash", "type": "bytes32"},
        {"name": "createdAt", "type": "uint64"},
    ],
    "Parent": [
        {"name": "datasetId", "type": "bytes32"},
        {"name": "version", "type": "uint64"},
        {"name": "root", "type": "bytes32"},
    ],
}


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain: one registry deployment on one chain."""

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        if not (isinstance(self.chain_id, int) and 0 < self.chain_id <= UINT64_MAX):
            raise FormatError(
                f"chain id {self.chain_id!r} is not a positive integer", code="manifest.bad-domain"
            )
        if not (isinstance(self.verifying_contract, str) and _ADDRESS.fullmatch(self.verifying_contract)):
            raise FormatError(
                f"contract address {self.verifying_contract!r} is not 20 hex bytes",
                code="manifest.bad-domain",
            )
        object.__setattr__(self, "verifying_contract", checksum_address(self.verifying_contract))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Domain:
        if (
            not isinstance(obj, dict)
            or obj.get("name") != DOMAIN_NAME
            or obj.get("version") != DOMAIN_VERSION
        ):
            raise FormatError(
                f"domain must name {DOMAIN_NAME!r} version {DOMAIN_VERSION!r}", code="manifest.bad-domain"
            )
        return cls(obj.get("chainId"), obj.get("verifyingContract"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Manifest:
    """One version of a dataset: its root, size, schema, lineage and creation time."""

    dataset: str
    version: int
    root: bytes
    size: int
    schema: Schema
    created_at: int
    parents: tuple[Parent, ...] = ()
    transform: dict[str, Any] | None = field(default=None, hash=False)
    quality: QualitySummary | None = None  # v2: the quality report of the schema's rules

    def __post_init__(self) -> None:
        check_dataset_name(self.dataset)
        check_uint64(self.version, "version", minimum=1)
        check_bytes32(self.root, "root")
        check_uint64(self.size, "size")
        check_uint64(self.created_at, "createdAt")
        check_transform(self.transform)
        if self.parents and self.transform is None:
            raise FormatError(
                "a snapshot with parents must name its transform", code="manifest.bad-transform"
            )
        if bool(self.schema.rules) != (self.quality is not None):
            raise FormatError(
                "a manifest carries a quality summary exactly when its schema has rules",
                code="manifest.malformed",
            )

    @property
    def format(self) -> str:
        return MANIFEST_FORMAT_V2 if self.quality is not None else MANIFEST_FORMAT

    @property
    def dataset_id(self) -> bytes:
        return dataset_id(self.dataset)

    @property
    def schema_hash(self) -> bytes:
        """v1: ``SHA-256(RFC8785(schema))``. v2: ``SHA-256(RFC8785({"schema": schema, "quality":
        summary}))``, so the one signed field commits to the rules and to what they found."""
        if self.quality is None:
            return self.schema.hash()
        both = {"schema": self.schema.to_json(), "quality": self.quality.to_json()}
        return hashlib.sha256(rfc8785.dumps(both)).digest()

    @property
    def transform_hash(self) -> bytes:
        return transform_hash(self.transform)

    def message(self) -> dict[str, Any]:
        """The EIP-712 ``Snapshot`` message."""
        return {
            "datasetId": self.dataset_id,
            "version": self.version,
            "root": self.root,
            "size": self.size,
            "schemaHash": self.schema_hash,
            "parents": [
                {"datasetId": p.dataset_id, "version": p.version, "root": p.root} for p in self.parents
            ],
            "transformHash": self.transform_hash,
            "createdAt": self.created_at,
        }

    def typed_data(self, domain: Domain) -> dict[str, Any]:
        """The full EIP-712 typed-data document (what ``eth_signTypedData_v4`` takes)."""
        return {
            "types": EIP712_TYPES,
            "primaryType": "Snapshot",
            "domain": domain.to_json(),
            "message": self.message(),
        }

    def signable(self, domain: Domain) -> Any:
        """eth-account's SignableMessage of the typed data (what a wallet signs)."""
        from eth_account.messages import encode_typed_data

        return encode_typed_data(full_message=self.typed_data(domain))

    def digest(self, domain: Domain) -> bytes:
        """The EIP-712 digest ``keccak256(0x1901 || domainSeparator || hashStruct)``."""
        return typed_data_digest(self.typed_data(domain))

    def to_json(self) -> dict[str, Any]:
        out = {
            "format": self.format,
            "dataset": self.dataset,
            "datasetId": hex_str(self.dataset_id),
            "version": self.version,
            "root": hex_str(self.root),
            "size": self.size,
            "schema": self.schema.to_json(),
            "schemaHash": hex_str(self.schema_hash),
            "parents": [p.to_json() for p in self.parents],
            "transform": self.transform,
            "transformHash": hex_str(self.transform_hash),
            "createdAt": self.created_at,
        }
        if self.quality is not None:
            out["quality"] = self.quality.to_json()
        return out

    @classmethod
    def from_json(cls, obj: Any, *, strict: bool = True) -> Manifest:
        """Parse the JSON form.

        With ``strict`` the derived fields (datasetId, schemaHash, transformHash) must match
        their sources; a bundle verifier parses with ``strict=False`` and reports mismatches
        from :func:`inconsistencies` as a failed check instead.

        Raises:
            FormatError: malformed (or, when strict, self-contradictory) manifest.
        """
        if not isinstance(obj, dict) or obj.get("format") not in (MANIFEST_FORMAT, MANIFEST_FORMAT_V2):
            raise FormatError(
                f"manifest must be an object with format {MANIFEST_FORMAT!r} or {MANIFEST_FORMAT_V2!r}",
                code="manifest.malformed",
            )
        v2 = obj["format"] == MANIFEST_FORMAT_V2
        fields = _MANIFEST_FIELDS | {"quality"} if v2 else _MANIFEST_FIELDS
        if set(obj) != fields:
            raise FormatError(f"manifest fields differ from {sorted(fields)}", code="manifest.malformed")
        parents = obj["parents"]
        if not isinstance(parents, list):
            raise FormatError("manifest parents must be a list", code="manifest.malformed")
        manifest = cls(
            dataset=obj["dataset"],
            version=obj["version"],
            root=bytes32(obj["root"], "root"),
            size=obj["size"],
            schema=Schema.from_json(obj["schema"]),
            created_at=obj["createdAt"],
            parents=tuple(Parent.from_json(p) for p in parents),
            transform=check_transform(obj["transform"]),
            quality=QualitySummary.from_json(obj["quality"]) if v2 else None,
        )
        for name in ("datasetId", "schemaHash", "transformHash"):
            bytes32(obj[name], name)
        if strict and (bad := inconsistencies(obj, manifest)):
            raise FormatError(
                f"manifest {', '.join(bad)} does not match its source field", code="manifest.inconsistent"
            )
        return manifest


_MANIFEST_FIELDS = {
    "format",
    "dataset",
    "datasetId",
    "version",
    "root",
    "size",
    "schema",
    "schemaHash",
    "parents",
    "transform",
    "transformHash",
    "createdAt",
}


def inconsistencies(obj: dict[str, Any], manifest: Manifest) -> list[str]:
    """Names of the derived fields of ``obj`` that differ from what ``manifest`` computes."""
    derived = {
        "datasetId": manifest.dataset_id,
        "schemaHash": manifest.schema_hash,
        "transformHash": manifest.transform_hash,
    }
    return [name for name, value in derived.items() if bytes32(obj[name], name) != value]


@dataclass(frozen=True)
class SignedManifest:
    """A manifest, the domain it was signed for, the signature and the recovered signer."""

    manifest: Manifest
    domain: Domain
    signature: bytes
    signer: str

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest.to_json(),
            "domain": self.domain.to_json(),
            "digest": hex_str(self.manifest.digest(self.domain)),
            "signature": hex_str(self.signature),
            "signer": self.signer,
        }

    @classmethod
    def from_json(cls, obj: Any) -> SignedManifest:
        """Parse, then recover the signer and require it to equal the claimed one.

        Raises:
            FormatError: malformed document.
            SignatureError: the signature is malformed, non-canonical or by another key.
        """
        if not isinstance(obj, dict) or set(obj) - {"manifest", "domain", "digest", "signature", "signer"}:
            raise FormatError(
                "signed manifest must be {manifest, domain, digest?, signature, signer}",
                code="manifest.malformed",
            )
        manifest = Manifest.from_json(obj.get("manifest"))
        domain = Domain.from_json(obj.get("domain"))
        signature = hexbytes(obj.get("signature"), "signature")
        signer = claimed_signer(
            obj, lambda: recover_signer(manifest, domain, signature), "manifest.malformed"
        )
        if "digest" in obj and bytes32(obj["digest"], "digest") != manifest.digest(domain):
            raise FormatError("digest does not match the manifest and domain", code="manifest.inconsistent")
        return cls(manifest, domain, signature, signer)


def claimed_signer(obj: dict[str, Any], recover: Callable[[], str], code: str) -> str:
    """The signer ``recover`` finds, which must be the document's claimed ``signer``.

    Raises:
        FormatError: ``signer`` is not an address (with ``code``).
        SignatureError: the signature recovers another key.
    """
    claimed = obj.get("signer")
    if not (isinstance(claimed, str) and _ADDRESS.fullmatch(claimed)):
        raise FormatError("signer must be a 20-byte hex address", code=code)
    signer = recover()
    if signer != checksum_address(claimed):
        raise SignatureError(
            f"signature recovers {signer}, not the claimed signer {claimed}", code="signature.signer-mismatch"
        )
    return signer


def sign(manifest: Manifest, domain: Domain, private_key: bytes) -> SignedManifest:
    """Sign ``manifest`` for ``domain`` with a secp256k1 source key."""
    from eth_account import Account

    signed = Account.sign_message(manifest.signable(domain), private_key)
    signature = bytes(signed.signature)
    check_signature_form(signature)
    return SignedManifest(manifest, domain, signature, Account.from_key(private_key).address)


def check_signature_form(signature: bytes) -> None:
    """Refuse anything but 65-byte ``r || s || v`` with v in {27, 28}, 0 < r, s < n, low s.

    Raises:
        SignatureError: with codes ``signature.malformed`` or ``signature.high-s``.
    """
    if not isinstance(signature, bytes) or len(signature) != 65:
        raise SignatureError("signature must be 65 bytes (r, s, v)", code="signature.malformed")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v is {v}, expected 27 or 28", code="signature.malformed")
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise SignatureError("signature r or s out of range", code="signature.malformed")
    if s > SECP256K1_N // 2:
        raise SignatureError(
            "signature s is in the upper half of the curve order (malleable)", code="signature.high-s"
        )


def recover_signer(manifest: Manifest, domain: Domain, signature: bytes) -> str:
    """The checksummed address whose key signed ``manifest`` for ``domain``.

    Raises:
        SignatureError: malformed or non-canonical signature, or no key recovers.
    """
    check_signature_form(signature)
    try:
        return recover_address(manifest.digest(domain), signature)
    except Exception as e:  # fail closed: any library error is a bad signature
        raise SignatureError(f"signature does not recover a key: {e}", code="signature.malformed") from e
