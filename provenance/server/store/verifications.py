"""Verification requests answered by the service, with their verdicts (the audit trail)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from provenance.server.store.database import Database
from provenance.server.store.models import VerificationRow


class VerificationRepository:
    """Stored verification requests."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        s: Session,
        bundle_bytes: bytes,
        verdict: dict[str, object],
        *,
        dataset: str | None,
        version: int | None,
        client: str | None,
        offline: bool,
    ) -> VerificationRow:
        digest = hashlib.sha256(bundle_bytes).digest()
        return self.record_digest(
            s, digest, verdict, dataset=dataset, version=version, client=client, offline=offline
        )

    def record_digest(
        self,
        s: Session,
        bundle_sha256: bytes,
        verdict: dict[str, object],
        *,
        dataset: str | None,
        version: int | None,
        client: str | None,
        offline: bool,
    ) -> VerificationRow:
        row = VerificationRow(
            bundle_sha256=bundle_sha256,
            dataset=dataset,
            version=version,
            status=str(verdict.get("status", "unusable")),
            verdict=json.dumps(verdict),
            client=client,
            is_offline=offline,
        )
        s.add(row)
        s.flush()
        return row

    def listing(
        self,
        s: Session,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        dataset: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[VerificationRow]:
        """Stored verifications, oldest first, filtered by time and dataset."""
        query = select(VerificationRow).where(VerificationRow.id > after_id)
        if since is not None:
            query = query.where(VerificationRow.created_at >= since)
        if until is not None:
            query = query.where(VerificationRow.created_at < until)
        if dataset is not None:
            query = query.where(VerificationRow.dataset == dataset)
        return list(s.scalars(query.order_by(VerificationRow.id).limit(limit)))
