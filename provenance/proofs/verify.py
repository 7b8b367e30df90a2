"""Verification of a ``provenance-proof/v1`` bundle: every hash and signature recomputed.

:func:`verify` returns a :class:`~provenance.proofs.verdict.Verdict` with one check per link.
Checks that need a chain use an :class:`AnchorReader` (implemented in ``provenance.chain``);
this module imports nothing of the chain, the store or the web layer.

A verifier fails closed: any unexpected exception inside a check is that check's failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from provenance import lineage, merkle
from provenance.checkpoint import Checkpoint, LogVerifier
from provenance.errors import ProofError, ProvenanceError, SignatureError
from provenance.manifest import Manifest, inconsistencies, recover_signer
from provenance.proofs.bundle import ProofBundle, Sections
from provenance.proofs.verdict import CHECKS, Check, Status, Verdict
from provenance.records.canonical import CanonicalError, canonical, key_text


@dataclass(frozen=True)
class ChainFacts:
    """What the chain says about an anchor, as read by an :class:`AnchorReader`."""

    check: Check  # the "anchor" check
    confirmations: Check
    source_status: Check
    disputes: Check | None = None  # a warning when anyone disputed the snapshot on-chain


class AnchorReader(Protocol):
    """Reads the registry contract to check a bundle's anchor (see ``provenance.chain``)."""

    def check_anchor(self, bundle: Sections, checkpoint: Checkpoint | None) -> ChainFacts: ...


@dataclass(frozen=True)
class Policy:
    """What the verifier is told to accept.

    ``offline``: do not read a chain; chain checks are ``skipped`` and an absent anchor is
    accepted. ``log_keys``: pinned C2SP verifier keys; when empty, the bundle's own key is used
    and the check's detail says it was not pinned.
    """

    offline: bool = False
    log_keys: tuple[str, ...] = ()


def verify_bundle(
    bundle: ProofBundle, *, policy: Policy | None = None, chain: AnchorReader | None = None
) -> Verdict:
    """Recompute every link of ``bundle``; never raises for a bad bundle, reports it."""
    policy = policy or Policy()
    checks: dict[str, Check] = {}
    checks["leaf"] = _guard("leaf", lambda: _check_leaf(bundle))
    checks["inclusion"] = _guard("inclusion", lambda: _check_inclusion(bundle))
    checks.update((c.name, c) for c in snapshot_checks(bundle, policy, chain))
    upstream = tuple(verify_bundle(u, policy=policy, chain=chain) for u in bundle.upstream)
    checks["lineage"] = _guard("lineage", lambda: _check_lineage(bundle, upstream))
    return Verdict(tuple(checks[name] for name in CHECKS), upstream, policy.offline, warnings_of(checks))


def warnings_of(checks: dict[str, Check]) -> tuple[Check, ...]:
    """The warnings among a snapshot's checks (``disputes``), which are no check of the verdict."""
    return tuple(c for c in checks.values() if c.status is Status.WARNING)


def snapshot_checks(sections: Sections, policy: Policy, chain: AnchorReader | None) -> list[Check]:
    """The checks that concern a bundle's snapshot, not its record: signature, log inclusion,
    checkpoint, and the chain's (anchor, confirmations, source status)."""
    signature = _guard("signature", lambda: _check_signature(sections))
    log_checks, checkpoint = _check_log(sections, policy)
    chain_checks = _check_chain(sections, checkpoint, policy, chain).values()
    return [signature, *log_checks.values(), *chain_checks, *_quality_warning(sections)]


def _quality_warning(sections: Sections) -> list[Check]:
    """A warning when the source's own signed quality summary lists failed ``warn`` rules."""
    quality = sections.manifest.manifest.quality
    if quality is None or quality.passed:
        return []
    rules = ", ".join(quality.failed_rules)
    detail = f"the source's signed quality report lists failed rules: {rules}"
    return [Check("quality", Status.WARNING, "quality.rules-failed", detail)]


def record_checks(bundle: ProofBundle) -> tuple[Check, Check]:
    """The checks of a bundle that concern its record alone: leaf and inclusion (a collection
    checks its snapshots once and each record with these)."""
    return (
        _guard("leaf", lambda: _check_leaf(bundle)),
        _guard("inclusion", lambda: _check_inclusion(bundle)),
    )


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


def _check_signature(bundle: Sections) -> Check:
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


def _check_log(bundle: Sections, policy: Policy) -> tuple[dict[str, Check], Checkpoint | None]:
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
    bundle: Sections, checkpoint: Checkpoint | None, policy: Policy, chain: AnchorReader | None
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
    out = {"anchor": facts.check, "confirmations": facts.confirmations, "source-status": facts.source_status}
    if facts.disputes is not None:
        out["disputes"] = facts.disputes
    return out


def _check_lineage(bundle: ProofBundle, upstream: tuple[Verdict, ...]) -> Check:
    refs = bundle.record.entry.get("derived_from") or []
    if not refs and not bundle.upstream:
        return Check("lineage", Status.NOT_APPLICABLE, "", "no record-level lineage")
    found = [
        lineage.Upstream(
            u.record.dataset,
            u.record.version,
            u.record.key,
            u.manifest.manifest.dataset_id,
            u.manifest.manifest.root,
            v.status,
            _upstream_leaf(u),
        )
        for u, v in zip(bundle.upstream, upstream, strict=True)
    ]
    broken = lineage.check_refs(refs, bundle.manifest.manifest.parents, found)
    if broken is not None:
        return _invalid("lineage", *broken)
    return _valid("lineage", f"{len(refs)} upstream record(s) verified")


def _upstream_leaf(upstream: ProofBundle) -> bytes:
    try:
        return merkle.hash_leaf(leaf_input(upstream))
    except CanonicalError:
        return b""  # its own leaf check fails; the edge then reports the upstream as invalid


def verify_consistency_between(old: Manifest, new: Manifest, proof: Sequence[bytes]) -> None:
    """Check that ``new`` only appended to ``old`` (same dataset; RFC 9162 consistency).

    Raises:
        ProofError: different datasets, or the proof does not hold.
    """
    if old.dataset_id != new.dataset_id:
        raise ProofError("manifests are of different datasets", code="proof.bad-size")
    merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
