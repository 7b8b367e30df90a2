"""``provenance-snapshot-proof/v1``: a snapshot's signed manifest, log inclusion, checkpoint and
anchor — a bundle without its record (DESIGN §6).

Whoever holds the data file recomputes the snapshot's root and size from it and checks them
against this proof (``provenance check``); a collection holds one per snapshot as its shared
section. :func:`verify_snapshot` runs the checks of a bundle that do not concern a record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

from provenance.errors import FormatError
from provenance.proofs import bundle
from provenance.proofs.verdict import Check, Status, Verdict
from provenance.proofs.verify import AnchorReader, Policy, snapshot_checks, warnings_of
from provenance.strict_json import loads

SNAPSHOT_PROOF_FORMAT = "provenance-snapshot-proof/v1"

# The checks of a verdict that concern the snapshot, in the order a bundle's verdict has them.
SNAPSHOT_CHECKS = (
    "signature",
    "source-status",
    "log-inclusion",
    "checkpoint-signature",
    "anchor",
    "confirmations",
)


@dataclass(frozen=True)
class SnapshotProof:
    dataset: str
    version: int
    manifest: bundle.ManifestProof
    log: bundle.LogProof | None
    anchor: bundle.Anchor | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("provenance").joinpath(f"schemas/{name}").read_text())  # type: ignore[no-any-return]


@cache
def _validator() -> jsonschema.Draft202012Validator:
    own = _schema("provenance-snapshot-proof-v1.schema.json")
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in (own, bundle.schema())
    )
    return jsonschema.Draft202012Validator(own, registry=registry)


def parse(text: str | bytes) -> SnapshotProof:
    """Parse a snapshot proof document.

    Raises:
        FormatError: not JSON, not a ``provenance-snapshot-proof/v1`` document, or malformed.
    """
    return from_json(loads(text))


def from_json(obj: Any) -> SnapshotProof:
    if not isinstance(obj, dict) or obj.get("format") != SNAPSHOT_PROOF_FORMAT:
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise FormatError(
            f"not a {SNAPSHOT_PROOF_FORMAT} document (format: {found!r})", code="snapshot-proof.unsupported"
        )
    error = next(iter(sorted(_validator().iter_errors(obj), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise FormatError(
            f"snapshot proof invalid at {where}: {error.message}", code="snapshot-proof.malformed"
        )
    return SnapshotProof(
        dataset=obj["dataset"],
        version=obj["version"],
        manifest=bundle.manifest_proof(obj["manifest"]),
        log=bundle.log_proof(obj["log"]),
        anchor=bundle.anchor_of(obj["anchor"]),
        raw=obj,
    )


def assemble(
    dataset: str, version: int, signed_manifest: dict[str, Any], log: Any, anchor: Any
) -> dict[str, Any]:
    """The JSON document of a snapshot proof (``log`` and ``anchor`` as in a bundle)."""
    return {
        "format": SNAPSHOT_PROOF_FORMAT,
        "dataset": dataset,
        "version": version,
        "manifest": signed_manifest,
        "log": log,
        "anchor": anchor,
    }


def of_bundle(doc: dict[str, Any]) -> dict[str, Any]:
    """The snapshot proof of a bundle document: the bundle without its record."""
    rec = doc["record"]
    return assemble(rec["dataset"], rec["version"], doc["manifest"], doc["log"], doc["anchor"])


def verify_snapshot(
    proof: SnapshotProof, *, policy: Policy | None = None, chain: AnchorReader | None = None
) -> Verdict:
    """The snapshot's checks: the manifest names this snapshot and is signed, its digest is in a
    signed checkpoint, which (unless offline) is anchored on the chain. Never raises."""
    policy = policy or Policy()
    checks = {c.name: c for c in snapshot_checks(proof, policy, chain)}
    m = proof.manifest.manifest
    if (m.dataset, m.version) != (proof.dataset, proof.version):
        checks["signature"] = Check(
            "signature",
            Status.INVALID,
            "snapshot-proof.wrong-snapshot",
            f"the proof names {proof.dataset} v{proof.version}, its manifest is {m.dataset} v{m.version}",
        )
    return Verdict(tuple(checks[n] for n in SNAPSHOT_CHECKS), (), policy.offline, warnings_of(checks))
