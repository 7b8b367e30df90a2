"""The audit trail: verifications the service answers (recorded with their verdicts) and those
an auditor's console reached in the browser, listed for anyone to read."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenance import strict_json
from provenance.checkpoint import LogSigner
from provenance.config import Settings
from provenance.errors import FormatError
from provenance.proofs import bundle, collection
from provenance.proofs.collection_verify import verify_collection
from provenance.proofs.verify import AnchorReader, Policy, verify_bundle
from provenance.records.schema import Schema
from provenance.server.store.database import Database
from provenance.server.store.models import VerificationRow
from provenance.server.store.verifications import VerificationRepository

AUDIT_DATASET = "ledger/audit/verifications"
AUDIT_SCHEMA = Schema(("id",), {"id": "integer", "version": "integer", "offline": "boolean"})


def trail_record(row: VerificationRow) -> dict[str, Any]:
    """One verification as a record of the audit dataset: what was checked, by whom, the verdict
    per check. A row never changes, so every version extends the one before."""
    verdict = json.loads(row.verdict)
    checks = verdict.get("checks") or [c for s in verdict.get("snapshots", []) for c in s.get("checks", [])]
    return {
        "id": row.id,
        "time": row.created_at.isoformat(),
        "bundleSha256": "0x" + bytes(row.bundle_sha256).hex(),
        "dataset": row.dataset,
        "version": row.version,
        "status": row.status,
        "by": verdict.get("by", "service"),
        "client": row.client,
        "offline": row.is_offline,
        "checks": [{k: str(c.get(k, "")) for k in ("check", "status", "reason")} for c in checks],
    }


class VerificationTrail:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        verifications: VerificationRepository,
        log_signer: LogSigner,
        chain: AnchorReader | None,
    ) -> None:
        self.settings, self.db, self.verifications = settings, db, verifications
        self.log_signer, self.chain = log_signer, chain

    def verify(self, data: bytes, *, offline: bool = False, client: str | None = None) -> dict[str, Any]:
        """Verify a bundle or a collection; the request and verdict are stored.

        Raises:
            FormatError: unusable input (recorded as such).
        """
        try:
            verdict, subject = self._verdict(data, offline)
        except FormatError as e:
            self._record_verification(
                data, {"status": "unusable", "error": e.to_dict()}, None, client, offline
            )
            raise
        verdict["requestId"] = self._record_verification(data, verdict, subject, client, offline)
        return verdict

    def _verdict(self, data: bytes, offline: bool) -> tuple[dict[str, Any], tuple[str, int] | None]:
        doc = strict_json.loads(data, max_bytes=self.settings.max_bundle_bytes)
        policy = Policy(offline=offline, log_keys=(self.log_signer.verifier_key(),))
        chain = None if offline else self.chain
        if collection.is_collection(doc):
            parsed = collection.from_json(doc)
            first = parsed.snapshots[parsed.records[parsed.root or 0]["snapshot"]]
            verdict = verify_collection(parsed, policy=policy, chain=chain).to_json()
            return verdict, (str(first["dataset"]), int(first["version"]))
        one = bundle.from_json(doc)
        return verify_bundle(one, policy=policy, chain=chain).to_json(), (
            one.record.dataset,
            one.record.version,
        )

    def _record_verification(
        self,
        data: bytes,
        verdict: dict[str, Any],
        subject: tuple[str, int] | None,
        client: str | None,
        offline: bool,
    ) -> int:
        with self.db.session() as s:
            row = self.verifications.record(
                s,
                data,
                verdict,
                dataset=subject[0] if subject else None,
                # a bundle may name any version; the store's column holds a signed 64-bit one
                version=subject[1] if subject and subject[1] < 2**63 else None,
                client=client,
                offline=offline,
            )
            return row.id

    def record_console(
        self,
        bundle_sha256: bytes,
        verdict: dict[str, Any],
        subject: tuple[str, int] | None,
        client: str | None,
    ) -> int:
        """A verification the audit console ran in the browser, for the trail (its verdict is the
        browser's; the trail records who checked what and what they saw, and claims no more)."""
        with self.db.session() as s:
            dataset, version = subject if subject else (None, None)
            row = self.verifications.record_digest(
                s,
                bundle_sha256,
                verdict,
                dataset=dataset,
                version=version,
                client=client,
                offline=bool(verdict.get("offline")),
            )
            return row.id

    def listing(self, **filters: Any) -> list[VerificationRow]:
        """See :meth:`VerificationRepository.listing`."""
        with self.db.session() as s:
            return self.verifications.listing(s, **filters)

    def write_audit_file(self, folder: Path, after_snapshot_of: int) -> Path | None:
        """Every verification so far as JSON Lines, in id order, or None when none came after
        the last snapshot's ``after_snapshot_of`` records."""
        with self.db.session() as s:
            rows = self.verifications.listing(s, limit=10**9)
        if len(rows) <= after_snapshot_of:
            return None
        path = folder / "verifications.jsonl"
        with path.open("w") as f:
            for row in rows:
                f.write(json.dumps(trail_record(row), sort_keys=True) + "\n")
        return path

    def snapshot(self, latest_size: int, ingest: Callable[[Path], Any]) -> Any:
        """A new version of the audit dataset when the trail grew since its latest version."""
        with tempfile.TemporaryDirectory() as tmp:
            path = self.write_audit_file(Path(tmp), latest_size)
            return None if path is None else ingest(path)
