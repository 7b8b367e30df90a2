"""The ``provenance-proof/v1`` bundle: one record, all the way to a block (DESIGN §2).

:func:`parse` turns JSON text into a :class:`ProofBundle` or refuses it (``FormatError``);
it checks structure only. :func:`verify` recomputes every hash and signature and returns a
:class:`Verdict` with one :class:`Check` per link. Checks that need a chain use an
:class:`AnchorReader` (implemented in ``provenance.chain``); this module imports nothing of
the chain, the store or the web layer.

A verifier fails closed: any unexpected exception inside a check is that check's failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any, Protocol

import jsonschema
import orjson

from provenance import merkle
from provenance.checkpoint import Checkpoint, LogVerifier
from provenance.errors import FormatError, ProofError, ProvenanceError, SignatureError
from provenance.manifest import Domain, Manifest, inconsistencies, recover_signer
from provenance.records.canonical import CanonicalError, canonical, key_text

BUNDLE_FORMAT = "provenance-proof/v1"
MAX_BUNDLE_BYTES = 16 << 20
MAX_UPSTREAM_DEPTH = 8
CHECKS = (
    "leaf",
    "inclusion",
    "signature",
    "source-status",
    "log-inclusion",
    "checkpoint-signature",
    "anchor",
    "confirmations",
    "lineage",
)


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"  # the bundle carries nothing to check (e.g. not anchored yet)
    PENDING = "pending"  # anchored but not yet final (confirmations)
    SKIPPED = "skipped"  # not checked, on request (offline)
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    reason: str = ""  # a stable code when not valid, e.g. "inclusion.root-mismatch"
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status.value, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]
    upstream: tuple[Verdict, ...] = ()
    offline: bool = False

    @property
    def status(self) -> str:
        """``invalid`` when any check failed; ``valid`` when every check passed, does not apply
        or was skipped on request (offline, where a missing anchor and log are accepted);
        ``incomplete`` otherwise (e.g. not anchored yet, or awaiting confirmations)."""
        if any(c.status is Status.INVALID for c in self.checks):
            return "invalid"
        if all(c.status in self._passing() for c in self.checks):
            return "valid"
        return "incomplete"

    def _passing(self) -> tuple[Status, ...]:
        ok = (Status.VALID, Status.NOT_APPLICABLE, Status.SKIPPED)
        return (*ok, Status.ABSENT) if self.offline else ok

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status not in self._passing()]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "offline": self.offline,
            "checks": [c.to_json() for c in self.checks],
            "upstream": [u.to_json() for u in self.upstream],
        }


# --- the model --------------------------------------------------------------------------------


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


def loads(text: str | bytes) -> Any:
    """Strict JSON for documents handed to a verifier: no duplicate keys, no NaN/Infinity."""
    if len(text) > MAX_BUNDLE_BYTES:
        raise FormatError(f"document is larger than {MAX_BUNDLE_BYTES} bytes", code="bundle.too-large")
    # orjson first: it refuses NaN, lone surrogates and nesting deeper than 1024 levels, which
    # bounds the recursion of the stdlib parser that then looks for duplicate keys (orjson keeps
    # the last of duplicates silently; CPython's json recursion is not bounded and can crash).
    try:
        orjson.loads(text)
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FormatError(f"not valid JSON: {e}", code="bundle.malformed") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


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
    rec, man, log, anchor = obj["record"], obj["manifest"], obj["log"], obj["anchor"]
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
        manifest=ManifestProof(
            manifest=Manifest.from_json(man["manifest"], strict=False),
            raw_manifest=man["manifest"],
            domain=Domain.from_json(man["domain"]),
            signature=_lenient_hex(man["signature"]),
            signer=man["signer"],
            digest=_hash(man["digest"]) if "digest" in man else None,
        ),
        log=None
        if log is None
        else LogProof(
            log["index"], log["treeSize"], _hashes(log["inclusionPath"]), log["checkpoint"], log["logKey"]
        ),
        anchor=None
        if anchor is None
        else Anchor(
            anchor["mode"],
            anchor["chainId"],
            anchor["contract"],
            _hash(anchor["txHash"]),
            anchor["blockNumber"],
            _hash(anchor["blockHash"]),
            anchor.get("checkpointIndex"),
        ),
        upstream=tuple(from_json(u, depth + 1) for u in obj.get("upstream", [])),
        raw=obj,
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


def build(
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


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainFacts:
    """What the chain says about an anchor, as read by an :class:`AnchorReader`."""

    check: Check  # the "anchor" check
    confirmations: Check
    source_status: Check


class AnchorReader(Protocol):
    """Reads the registry contract to check a bundle's anchor (see ``provenance.chain``)."""

    def check_anchor(self, bundle: ProofBundle, checkpoint: Checkpoint | None) -> ChainFacts: ...


@dataclass(frozen=True)
class Policy:
    """What the verifier is told to accept.

    ``offline``: do not read a chain; chain checks are ``skipped`` and an absent anchor is
    accepted. ``log_keys``: pinned C2SP verifier keys; when empty, the bundle's own key is used
    and the check's detail says it was not pinned.
    """

    offline: bool = False
    log_keys: tuple[str, ...] = ()


def verify(
    bundle: ProofBundle, *, policy: Policy | None = None, chain: AnchorReader | None = None
) -> Verdict:
    """Recompute every link of ``bundle``; never raises for a bad bundle, reports it."""
    policy = policy or Policy()
    checks: dict[str, Check] = {}
    checks["leaf"] = _guard("leaf", lambda: _check_leaf(bundle))
    checks["inclusion"] = _guard("inclusion", lambda: _check_inclusion(bundle))
    checks["signature"] = _guard("signature", lambda: _check_signature(bundle))
    log_checks, checkpoint = _check_log(bundle, policy)
    checks.update(log_checks)
    checks.update(_check_chain(bundle, checkpoint, policy, chain))
    upstream = tuple(verify(u, policy=policy, chain=chain) for u in bundle.upstream)
    checks["lineage"] = _guard("lineage", lambda: _check_lineage(bundle, upstream))
    return Verdict(tuple(checks[name] for name in CHECKS), upstream, policy.offline)


def _guard(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except ProvenanceError as e:
        return Check(name, Status.INVALID, e.code, e.message)
    except Exception as e:  # fail closed
        return Check(name, Status.INVALID, f"{name}.error", f"{type(e).__name__}: {e}")


def _valid(name: str, detail: str = "") -> Check:
    return Check(name, Status.VALID, "", detail)


def _invalid(name: str, reason: str, detail: str) -> Check:
    return Check(name, Status.INVALID, reason, detail)


def leaf_input(bundle: ProofBundle) -> bytes:
    """RFC 8785 bytes of the bundle's entry (raises CanonicalError)."""
    return canonical(bundle.record.entry)


def _check_leaf(bundle: ProofBundle) -> Check:
    rec, manifest = bundle.record, bundle.manifest.manifest
    try:
        data = leaf_input(bundle)
    except CanonicalError as e:
        return _invalid("leaf", "leaf.not-canonical", f"entry has no RFC 8785 form: {e}")
    record = rec.entry["record"]
    schema = manifest.schema
    missing = [c for c in schema.key if c not in record]
    if missing:
        return _invalid("leaf", "leaf.key-mismatch", f"entry lacks key column(s) {missing}")
    actual = key_text([record[c] for c in schema.key])
    if actual != key_text(list(rec.key)):
        return _invalid(
            "leaf",
            "leaf.key-mismatch",
            f"bundle key {key_text(list(rec.key)).decode()} but entry has {actual.decode()}",
        )
    if schema.salted != ("salt" in rec.entry):
        return _invalid(
            "leaf",
            "leaf.salt-mismatch",
            "schema is salted but entry has no salt"
            if schema.salted
            else "entry has a salt but the schema is not salted",
        )
    if (rec.dataset, rec.version) != (manifest.dataset, manifest.version):
        return _invalid(
            "leaf",
            "leaf.wrong-snapshot",
            f"record names {rec.dataset} v{rec.version}, manifest is {manifest.dataset} v{manifest.version}",
        )
    return _valid("leaf", f"leaf hash {merkle.hash_leaf(data).hex()}")


def _check_inclusion(bundle: ProofBundle) -> Check:
    rec, manifest = bundle.record, bundle.manifest.manifest
    if rec.tree_size != manifest.size:
        return _invalid(
            "inclusion",
            "inclusion.size-mismatch",
            f"proof is for size {rec.tree_size}, manifest says {manifest.size}",
        )
    leaf = merkle.hash_leaf(leaf_input(bundle))
    merkle.verify_inclusion(leaf, rec.leaf_index, rec.tree_size, rec.path, manifest.root)
    return _valid("inclusion", f"leaf {rec.leaf_index} of {rec.tree_size} under root {manifest.root.hex()}")


def _check_signature(bundle: ProofBundle) -> Check:
    mp = bundle.manifest
    bad = inconsistencies(mp.raw_manifest, mp.manifest)
    if bad:
        return _invalid(
            "signature",
            "signature.manifest-inconsistent",
            f"manifest {', '.join(bad)} does not match what is signed",
        )
    digest = mp.manifest.digest(mp.domain)
    if mp.digest is not None and mp.digest != digest:
        return _invalid("signature", "signature.digest-mismatch", "stated digest is not the manifest's")
    signer = recover_signer(mp.manifest, mp.domain, mp.signature)
    if signer.lower() != mp.signer.lower():
        raise SignatureError(
            f"signature recovers {signer}, bundle claims {mp.signer}", code="signature.signer-mismatch"
        )
    return _valid("signature", f"EIP-712 signed by {signer} for chain {mp.domain.chain_id}")


def _check_log(bundle: ProofBundle, policy: Policy) -> tuple[dict[str, Check], Checkpoint | None]:
    log = bundle.log
    if log is None:
        direct = bundle.anchor is not None and bundle.anchor.mode == "direct"
        status = Status.NOT_APPLICABLE if direct else Status.ABSENT
        detail = "direct anchor: no ledger log" if direct else "not yet in a signed checkpoint"
        return {
            name: Check(name, status, "" if direct else f"{name}.absent", detail)
            for name in ("log-inclusion", "checkpoint-signature")
        }, None
    out: dict[str, Check] = {}
    checkpoint: Checkpoint | None = None

    def signature() -> Check:
        nonlocal checkpoint
        keys = policy.log_keys or (log.log_key,)
        errors = []
        for text in keys:
            try:
                checkpoint = LogVerifier.parse(text).verify(log.checkpoint)
                pinned = "pinned" if policy.log_keys else "from the bundle, not pinned"
                return _valid("checkpoint-signature", f"signed by log key {text.split('+')[0]} ({pinned})")
            except ProvenanceError as e:
                errors.append(e)
        raise errors[0]

    out["checkpoint-signature"] = _guard("checkpoint-signature", signature)

    def inclusion() -> Check:
        if checkpoint is None:
            return _invalid(
                "log-inclusion",
                "log-inclusion.no-checkpoint",
                "the checkpoint did not verify, so there is no root to prove against",
            )
        if log.tree_size != checkpoint.size:
            return _invalid(
                "log-inclusion",
                "log-inclusion.size-mismatch",
                f"proof is for log size {log.tree_size}, checkpoint has {checkpoint.size}",
            )
        digest = bundle.manifest.manifest.digest(bundle.manifest.domain)
        merkle.verify_inclusion(merkle.hash_leaf(digest), log.index, log.tree_size, log.path, checkpoint.root)
        return _valid("log-inclusion", f"manifest digest is log entry {log.index} of {log.tree_size}")

    out["log-inclusion"] = _guard("log-inclusion", inclusion)
    return out, checkpoint


def _check_chain(
    bundle: ProofBundle, checkpoint: Checkpoint | None, policy: Policy, chain: AnchorReader | None
) -> dict[str, Check]:
    names = ("anchor", "confirmations", "source-status")
    if bundle.anchor is None:
        if policy.offline:
            return {
                n: Check(
                    n,
                    Status.ABSENT if n == "anchor" else Status.SKIPPED,
                    "",
                    "not anchored; accepted offline",
                )
                for n in names
            }
        return {n: Check(n, Status.ABSENT, f"{n}.absent", "the bundle carries no anchor") for n in names}
    if policy.offline or chain is None:
        why = "offline: the chain was not read" if policy.offline else "no chain RPC given"
        status = Status.SKIPPED if policy.offline else Status.ABSENT
        return {n: Check(n, status, "" if policy.offline else f"{n}.unchecked", why) for n in names}
    try:
        facts = chain.check_anchor(bundle, checkpoint)
    except ProvenanceError as e:
        return {n: Check(n, Status.INVALID, e.code, e.message) for n in names}
    except Exception as e:  # fail closed
        return {n: Check(n, Status.INVALID, "anchor.error", f"{type(e).__name__}: {e}") for n in names}
    return {"anchor": facts.check, "confirmations": facts.confirmations, "source-status": facts.source_status}


def _check_lineage(bundle: ProofBundle, upstream: tuple[Verdict, ...]) -> Check:
    refs = bundle.record.entry.get("derived_from")
    parents = bundle.manifest.manifest.parents
    if not refs and not bundle.upstream:
        return Check("lineage", Status.NOT_APPLICABLE, "", "no record-level lineage")
    by_ref = {
        (u.record.dataset, u.record.version, key_text(list(u.record.key))): (u, v)
        for u, v in zip(bundle.upstream, upstream, strict=True)
    }
    for ref in refs or []:
        found = by_ref.get((ref["dataset"], ref["version"], key_text(list(ref["key"]))))
        if found is None:
            return _invalid(
                "lineage",
                "lineage.missing-upstream",
                f"no upstream bundle for {ref['dataset']} v{ref['version']} {ref['key']}",
            )
        ub, uv = found
        if uv.status != "valid":
            return _invalid(
                "lineage",
                "lineage.upstream-invalid",
                f"upstream bundle for {ref['dataset']} v{ref['version']} is {uv.status}",
            )
        um = ub.manifest.manifest
        if not any(
            p.dataset_id == um.dataset_id and p.version == um.version and p.root == um.root for p in parents
        ):
            return _invalid(
                "lineage",
                "lineage.not-a-parent",
                f"{ref['dataset']} v{ref['version']} is not a parent in the manifest",
            )
    return _valid("lineage", f"{len(refs or [])} upstream record(s) verified")


def verify_consistency_between(old: Manifest, new: Manifest, proof: Sequence[bytes]) -> None:
    """Check that ``new`` only appended to ``old`` (same dataset; RFC 9162 consistency).

    Raises:
        ProofError: different datasets, or the proof does not hold.
    """
    if old.dataset_id != new.dataset_id:
        raise ProofError("manifests are of different datasets", code="proof.bad-size")
    merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
