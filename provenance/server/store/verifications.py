"""Verification requests answered by the service, with their verdicts (the audit trail)."""

from __future__ import annotations

import hashlib
import json

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
        row = VerificationRow(
            bundle_sha256=hashlib.sha256(bundle_bytes).digest(),
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
