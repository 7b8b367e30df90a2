"""Variants of a bundle that are signed again (with the test keys of tests/factories.py), so that
the checks behind a signature are reached: checkpoints whose text breaks the C2SP checkpoint
rules under a valid log signature, manifests that contradict their record under a valid source
signature, and a log key of small order that OpenSSL's Ed25519 accepts."""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provenance.checkpoint import LogSigner, key_id
from provenance.manifest import Domain, Manifest, sign
from provenance.records.schema import Schema
from tests import factories

Doc = dict[str, Any]


def signed_variants(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """Variants of a bundle with a log (plain-with-log)."""
    yield from _notes(doc)
    yield from _manifests(doc)
    yield "small-order-log-key", _small_order_key(doc)
    yield "log-key-not-ascii", _non_ascii_log(doc)


def big_numbers(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """Variants of a bundle without a log whose signed numbers are past 2^53 (exact in Python)."""
    base = Manifest.from_json(doc["manifest"]["manifest"])
    for name, version, created, chain in [
        ("version-2^60", 2**60 + 1, base.created_at, factories.DOMAIN.chain_id),
        ("created-max", base.version, 2**64 - 1, factories.DOMAIN.chain_id),
        ("chain-2^63", base.version, base.created_at, 2**63 + 5),
    ]:
        domain = Domain(chain, factories.DOMAIN.verifying_contract)
        out = _resigned(doc, dataclasses.replace(base, version=version, created_at=created), domain)
        out["record"]["version"] = version
        yield name, out


# Values whose RFC 8785 form a port gets wrong first: number formats, -0, integral floats,
# escapes, and member names whose UTF-16 order is not their code point order.
EXOTIC: list[dict[str, Any]] = [
    {"id": "floats", "a": 1e21, "b": 1e-7, "c": 5e-324, "d": 0.1, "e": 123456789.125, "f": -0.0},
    # 1e16 is refused at ingest now (its RFC 8785 form reads back as an unsafe integer); 1e21 is
    # written with an exponent and reads back as a float.
    {"id": "integral", "a": 1.0, "b": 1e15, "c": 2**53 - 1, "d": -(2**53 - 1), "e": 0, "f": 100.0, "g": 1e21},
    {"id": "strings", "a": "\u0000\u001f\u007f", "b": "\u2028\u2029", "c": 'q"b\\s/', "d": "\U0001f600é"},
    {"id": "names", "\uffff": 1, "\U0001f600": 2, "é": 3, "a": 4, "__proto__": 5, "toJSON": {"x": 6}},
    {
        "id": "nested",
        "a": [[[{"b": [1, {"c": None}]}]]],
        "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    },
    {"id": "unicode-key-\U0001f600", "a": True, "b": False, "c": None},
]


def exotic(with_log: bool) -> Iterator[tuple[str, Doc]]:
    """Bundles of a snapshot of EXOTIC records, built and signed by the Python code."""
    snap = factories.snapshot(EXOTIC, dataset="tm/exotic/values", key=("id",))
    for i, record in enumerate(EXOTIC):
        yield f"exotic-{record['id']}", factories.proof_bundle(snap, i, with_log=with_log)


def _with_note(doc: Doc, note: str, log_key: str | None = None) -> Doc:
    out = copy.deepcopy(doc)
    out["log"]["checkpoint"] = note
    if log_key is not None:
        out["log"]["logKey"] = log_key
    return out


def _notes(doc: Doc) -> Iterator[tuple[str, Doc]]:
    signer = factories.log_signer()
    origin, size, root, *_ = doc["log"]["checkpoint"].split("\n")
    bodies = {
        "size-leading-zero": [origin, "0" + size, root],
        "size-2^64": [origin, str(2**64), root],
        "size-max": [origin, str(2**64 - 1), root],
        "size-other": [origin, str(int(size) + 1), root],
        "root-noncanonical": [origin, size, root[:-2] + chr(ord(root[-2]) + 1) + "="],
        "root-short": [origin, size, base64.b64encode(bytes(31)).decode()],
        "root-not-base64": [origin, size, "!!!!"],
        "root-non-ascii": [origin, size, "é" + root[1:]],
        "root-other": [origin, size, base64.b64encode(bytes(32)).decode()],
        "extension": [origin, size, root, "an extension line"],
        "extension-not-printable": [origin, size, root, "zero\u200bwidth"],
        "origin-not-printable": ["no\u00a0break", size, root],
        "two-lines": [origin, size],
    }
    for name, lines in bodies.items():
        yield f"note-{name}", _with_note(doc, signer.sign_note("\n".join(lines) + "\n"))
    note = doc["log"]["checkpoint"]
    other = LogSigner("other.example/log", Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
    body = note[: note.index("\n\n") + 1]
    yield "note-second-signature", _with_note(doc, note + other.sign_note(body).split("\n\n")[1])
    same_name = LogSigner(factories.ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34))))
    yield "note-same-name-other-key", _with_note(doc, same_name.sign_note(body))
    yield "note-pinned-other-key", _with_note(doc, same_name.sign_note(body), same_name.verifier_key())


def _small_order_key(doc: Doc) -> Doc:
    """The identity point as log key, with R = identity and S = 0: OpenSSL's cofactorless check
    accepts it for any message (noble's strict verify would not)."""
    name = "small.example/log"
    identity = b"\x01" + bytes(31)
    kid = key_id(name, identity)
    encoded = base64.b64encode(bytes([1]) + identity).decode()
    log_key = f"{name}+{kid.hex()}+{encoded}"
    note = doc["log"]["checkpoint"]
    body = note[: note.index("\n\n") + 1]
    line = f"\u2014 {name} {base64.b64encode(kid + identity + bytes(32)).decode()}\n"
    return _with_note(doc, body + "\n" + line, log_key)


def _non_ascii_log(doc: Doc) -> Doc:
    signer = LogSigner("lög.example/ledger", Ed25519PrivateKey.from_private_bytes(bytes(range(3, 35))))
    _, size, root, *_ = doc["log"]["checkpoint"].split("\n")
    note = signer.sign_note("\n".join(["ünïcode.example/log", size, root, "ext \U0001f600"]) + "\n")
    return _with_note(doc, note, signer.verifier_key())


def _manifests(doc: Doc) -> Iterator[tuple[str, Doc]]:
    raw = doc["manifest"]["manifest"]
    base = Manifest.from_json(raw)
    schema = base.schema
    changes: dict[str, dict[str, Any]] = {
        "size": {"size": base.size + 1},
        "salted": {"schema": Schema(schema.key, dict(schema.columns), True)},
        "key": {"schema": Schema(("date",), dict(schema.columns), schema.salted)},
        "version": {"version": base.version + 1},
        "root": {"root": hashlib.sha256(b"another root").digest()},
    }
    for name, change in changes.items():
        yield f"resigned-{name}", _resigned(doc, dataclasses.replace(base, **change), factories.DOMAIN)
    yield "resigned-chain", _resigned(doc, base, Domain(1, factories.DOMAIN.verifying_contract))
    other = _resigned(doc, base, factories.DOMAIN, bytes.fromhex("11" * 32))
    yield "signed-by-another-key", other
    claimed = copy.deepcopy(other)
    claimed["manifest"]["signer"] = doc["manifest"]["signer"]
    yield "signed-by-another-key-claimed", claimed


def _resigned(doc: Doc, manifest: Manifest, domain: Domain, key: bytes = factories.SOURCE_KEY) -> Doc:
    out = copy.deepcopy(doc)
    out["manifest"] = sign(manifest, domain, key).to_json()
    return out
