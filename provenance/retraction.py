"""A snapshot's retraction: the reason, and the EIP-712 ``Retraction`` its source signs.

``Retraction(bytes32 datasetId,uint64 version,bytes32 root,bytes32 reasonHash)`` under the
registry's domain, where ``reasonHash = SHA-256(UTF-8 reason text)``: anyone holding the served
reason recomputes the hash the chain recorded. The registry accepts the signature of the
snapshot's own (active) source or of an authorised signer of its dataset, in either anchoring
mode (``retractSigned`` for direct anchors, ``retractLogged`` with a log-inclusion proof).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from provenance.datasets import check_dataset_name, dataset_id
from provenance.errors import FormatError, SignatureError
from provenance.evm import recover_address, typed_data_digest
from provenance.fields import bytes32, check_uint64, hex_str, hexbytes
from provenance.manifest import EIP712_TYPES, Domain, check_signature_form, claimed_signer

RETRACTION_FORMAT = "provenance-retraction/v1"
MAX_REASON = 4096  # characters: a reason is a sentence or a paragraph, not a document

RETRACTION_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_TYPES["EIP712Domain"],
    "Retraction": [
        {"name": "datasetId", "type": "bytes32"},
        {"name": "version", "type": "uint64"},
        {"name": "root", "type": "bytes32"},
        {"name": "reasonHash", "type": "bytes32"},
    ],
}


def reason_hash(reason: str) -> bytes:
    return hashlib.sha256(reason.encode()).digest()


@dataclass(frozen=True)
class Retraction:
    """What is retracted (dataset, version, root) and why."""

    dataset: str
    version: int
    root: bytes
    reason: str

    def __post_init__(self) -> None:
        check_dataset_name(self.dataset)
        check_uint64(self.version, "version", minimum=1)
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise FormatError("a retraction needs a reason", code="retraction.malformed")
        if len(self.reason) > MAX_REASON:
            raise FormatError(f"the reason is over {MAX_REASON} characters", code="retraction.malformed")

    @property
    def dataset_id(self) -> bytes:
        return dataset_id(self.dataset)

    @property
    def reason_hash(self) -> bytes:
        return reason_hash(self.reason)

    def typed_data(self, domain: Domain) -> dict[str, Any]:
        message = {
            "datasetId": self.dataset_id,
            "version": self.version,
            "root": self.root,
            "reasonHash": self.reason_hash,
        }
        return {
            "types": RETRACTION_TYPES,
            "primaryType": "Retraction",
            "domain": domain.to_json(),
            "message": message,
        }

    def digest(self, domain: Domain) -> bytes:
        return typed_data_digest(self.typed_data(domain))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RETRACTION_FORMAT,
            "dataset": self.dataset,
            "version": self.version,
            "root": hex_str(self.root),
            "reason": self.reason,
            "reasonHash": hex_str(self.reason_hash),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Retraction:
        if not isinstance(obj, dict) or obj.get("format", RETRACTION_FORMAT) != RETRACTION_FORMAT:
            raise FormatError(
                f"a retraction must be a {RETRACTION_FORMAT} object", code="retraction.malformed"
            )
        out = cls(obj.get("dataset"), obj.get("version"), bytes32(obj.get("root"), "root"), obj.get("reason"))  # type: ignore[arg-type]
        if "reasonHash" in obj and bytes32(obj["reasonHash"], "reasonHash") != out.reason_hash:
            raise FormatError("reasonHash is not the SHA-256 of the reason", code="retraction.malformed")
        return out


@dataclass(frozen=True)
class SignedRetraction:
    retraction: Retraction
    domain: Domain
    signature: bytes
    signer: str

    def to_json(self) -> dict[str, Any]:
        return {
            "retraction": self.retraction.to_json(),
            "domain": self.domain.to_json(),
            "digest": hex_str(self.retraction.digest(self.domain)),
            "signature": hex_str(self.signature),
            "signer": self.signer,
        }

    @classmethod
    def from_json(cls, obj: Any) -> SignedRetraction:
        """Parse, recover the signer and require it to be the claimed one.

        Raises:
            FormatError: malformed document.
            SignatureError: malformed signature, or one by another key.
        """
        if not isinstance(obj, dict) or set(obj) - {"retraction", "domain", "digest", "signature", "signer"}:
            raise FormatError(
                "a signed retraction is {retraction, domain, digest?, signature, signer}",
                code="retraction.malformed",
            )
        retraction = Retraction.from_json(obj.get("retraction"))
        domain = Domain.from_json(obj.get("domain"))
        signature = hexbytes(obj.get("signature"), "signature")
        signer = claimed_signer(
            obj, lambda: recover_retraction_signer(retraction, domain, signature), "retraction.malformed"
        )
        return cls(retraction, domain, signature, signer)


def sign_retraction(retraction: Retraction, domain: Domain, private_key: bytes) -> SignedRetraction:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=retraction.typed_data(domain))
    signature = bytes(Account.sign_message(signable, private_key).signature)
    check_signature_form(signature)
    return SignedRetraction(retraction, domain, signature, Account.from_key(private_key).address)


def recover_retraction_signer(retraction: Retraction, domain: Domain, signature: bytes) -> str:
    check_signature_form(signature)
    try:
        return recover_address(retraction.digest(domain), signature)
    except Exception as e:  # fail closed
        raise SignatureError(f"signature does not recover a key: {e}", code="signature.malformed") from e
