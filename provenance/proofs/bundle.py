"""The ``provenance-proof/v1`` bundle: one record, all the way to a block (docs/ARCHITECTURE.md, Formats).

:func:`parse` turns JSON text into a :class:`ProofBundle` or refuses it (``FormatError``); it
checks structure only (``provenance.proofs.verify`` recomputes every hash and signature).
:func:`assemble` writes the JSON document of a bundle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

import jsonschema

from provenance.errors import FormatError
from provenance.manifest import Domain, Manifest
from provenance.strict_json import MAX_DOCUMENT_BYTES, loads

BUNDLE_FORMAT = "provenance-proof/v1"
MAX_BUNDLE_BYTES = MAX_DOCUMENT_BYTES
MAX_UPSTREAM_DEPTH = 8


@dataclass(frozen=True)
class RecordProof:
    dataset: str
    version: int
    key: tuple[Any, ...]
    entry: dict[str, Any]
    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class ManifestProof:
    manifest: Manifest
    raw_manifest: dict[str, Any]
    domain: Domain
    signature: bytes
    signer: str
    digest: bytes | None


@dataclass(frozen=True)
class LogProof:
    index: int
    tree_size: int
    path: tuple[bytes, ...]
    checkpoint: str
    log_key: str


@dataclass(frozen=True)
class Anchor:
    mode: str
    chain_id: int
    contract: str
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    checkpoint_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "chainId": self.chain_id,
            "contract": self.contract,
            "txHash": _hex(self.tx_hash),
            "blockNumber": self.block_number,
            "blockHash": _hex(self.block_hash),
        }
        if self.checkpoint_index is not None:
            out["checkpointIndex"] = self.checkpoint_index
        return out


class Sections(Protocol):
    """What a record's bundle and a snapshot proof share: everything but the record."""

    @property
    def manifest(self) -> ManifestProof: ...
    @property
    def log(self) -> LogProof | None: ...
    @property
    def anchor(self) -> Anchor | None: ...


@dataclass(frozen=True)
class ProofBundle:
    record: RecordProof
    manifest: ManifestProof
    log: LogProof | None
    anchor: Anchor | None
    upstream: tuple[ProofBundle, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def schema() -> dict[str, Any]:
    """The JSON Schema of ``provenance-proof/v1`` shipped in the package."""
    text = resources.files("provenance").joinpath("schemas/provenance-proof-v1.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


_VALIDATOR: jsonschema.Draft202012Validator | None = None


def _validator() -> jsonschema.Draft202012Validator:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = jsonschema.Draft202012Validator(schema())
    return _VALIDATOR


def parse(text: str | bytes) -> ProofBundle:
    """Parse a bundle document.

    Raises:
        FormatError: not JSON, not a ``provenance-proof/v1`` document, or structurally invalid.
    """
    return from_json(loads(text))


def from_json(obj: Any, depth: int = 0) -> ProofBundle:
    if depth > MAX_UPSTREAM_DEPTH:
        raise FormatError(f"upstream bundles nest deeper than {MAX_UPSTREAM_DEPTH}", code="bundle.malformed")
    if not isinstance(obj, dict) or obj.get("format") != BUNDLE_FORMAT:
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise FormatError(f"not a {BUNDLE_FORMAT} bundle (format: {found!r})", code="bundle.unsupported")
    error = next(iter(sorted(_validator().iter_errors(obj), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise FormatError(f"bundle invalid at {where}: {error.message}", code="bundle.malformed")
    rec = obj["record"]
    return ProofBundle(
        record=RecordProof(
            rec["dataset"],
            rec["version"],
            tuple(rec["key"]),
            rec["entry"],
            rec["leafIndex"],
            rec["treeSize"],
            _hashes(rec["inclusionPath"]),
        ),
        manifest=manifest_proof(obj["manifest"]),
        log=log_proof(obj["log"]),
        anchor=anchor_of(obj["anchor"]),
        upstream=tuple(from_json(u, depth + 1) for u in obj.get("upstream", [])),
        raw=obj,
    )


def manifest_proof(man: dict[str, Any]) -> ManifestProof:
    """The signed-manifest section of a schema-valid bundle or snapshot proof."""
    return ManifestProof(
        manifest=Manifest.from_json(man["manifest"], strict=False),
        raw_manifest=man["manifest"],
        domain=Domain.from_json(man["domain"]),
        signature=_lenient_hex(man["signature"]),
        signer=man["signer"],
        digest=_hash(man["digest"]) if "digest" in man else None,
    )


def log_proof(log: dict[str, Any] | None) -> LogProof | None:
    if log is None:
        return None
    return LogProof(
        log["index"], log["treeSize"], _hashes(log["inclusionPath"]), log["checkpoint"], log["logKey"]
    )


def anchor_of(anchor: dict[str, Any] | None) -> Anchor | None:
    if anchor is None:
        return None
    return Anchor(
        anchor["mode"],
        anchor["chainId"],
        anchor["contract"],
        _hash(anchor["txHash"]),
        anchor["blockNumber"],
        _hash(anchor["blockHash"]),
        anchor.get("checkpointIndex"),
    )


def _hash(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def _lenient_hex(text: str) -> bytes:
    """Signature bytes; an odd-length hex string becomes b"" so that verify reports it."""
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        return b""


def _hashes(items: Sequence[str]) -> tuple[bytes, ...]:
    return tuple(_hash(h) for h in items)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def assemble(
    *,
    dataset: str,
    version: int,
    key: Sequence[Any],
    leaf_input: bytes,
    leaf_index: int,
    tree_size: int,
    path: Sequence[bytes],
    signed_manifest: dict[str, Any],
    log: dict[str, Any] | None = None,
    anchor: Anchor | None = None,
    upstream: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The JSON document of a bundle (what ``prove`` prints and the API returns)."""
    out: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "record": {
            "dataset": dataset,
            "version": version,
            "key": list(key),
            "entry": json.loads(leaf_input),
            "leafIndex": leaf_index,
            "treeSize": tree_size,
            "inclusionPath": [_hex(h) for h in path],
        },
        "manifest": signed_manifest,
        "log": log,
        "anchor": None if anchor is None else anchor.to_json(),
    }
    if upstream:
        out["upstream"] = list(upstream)
    return out
