"""Verification policies, published as snapshots: a dataset's policy is the one record of a
version of ``ledger/policy/<name>``, signed by the dataset's own signing key and anchored like
any other snapshot, so a verifier checks the policy's bundle before it grades data by it
(provenance/policy.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from provenance.errors import InputError, NotFoundError, SignatureError
from provenance.policy import Policy, policy_dataset
from provenance.records.schema import Schema
from provenance.server.intake import IngestResult

if TYPE_CHECKING:
    from provenance.server.ledger import Ledger

POLICY_SCHEMA = Schema(("dataset",), {"levels": "json"})


class Policies:
    """A use of the ledger (its datasets, ingest and proofs); it owns no storage of its own."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def publish(self, name: str, doc: Any) -> IngestResult:
        """A new version of ``name``'s policy, signed by the dataset's server-held key.

        Raises:
            FormatError: ``policy.malformed``.
            InputError: the policy names another dataset.
            SignatureError: the dataset is signed by its source, who publishes the policy
                as a signed snapshot of ``ledger/policy/<name>`` instead.
        """
        policy = Policy.from_json(doc)
        if policy.dataset != name:
            raise InputError(f"the policy is for {policy.dataset}, not {name}", code="policy.wrong-dataset")
        dataset = self.ledger.dataset(name)
        if dataset.signing_key is None:
            raise SignatureError(
                f"{name} is signed by its source: upload its policy as a source-signed snapshot of "
                f"{policy_dataset(name)}",
                code="signature.required",
            )
        target = policy_dataset(name)
        if target not in {d.name for d in self.ledger.datasets()}:
            self.ledger.create_dataset(target, POLICY_SCHEMA, signing_key=dataset.signing_key)
        with tempfile.TemporaryDirectory(dir=self.ledger.upload_folder()) as tmp:
            path = Path(tmp) / "policy.jsonl"
            path.write_bytes(orjson.dumps(policy.to_json()) + b"\n")
            return self.ledger.ingest(target, path, fmt="jsonl")

    def latest(self, name: str) -> dict[str, Any]:
        """``{"policy", "version", "anchor", "bundle"}``: the newest policy of ``name`` with the
        proof bundle of its record.

        Raises:
            NotFoundError: ``policy.none`` when none was published.
        """
        target = policy_dataset(name)
        try:
            versions = self.ledger.versions(target)
        except NotFoundError:
            versions = []
        done = [v.version for v in versions if v.state == "complete"]
        if not done:
            raise NotFoundError(f"{name} has no published verification policy", code="policy.none")
        version = max(done)
        proof = self.ledger.proof(target, version, [name])
        record = proof["bundle"]["record"]["entry"]["record"]
        return {"policy": record, "version": version, **proof}
