"""Quality reports of snapshots whose schema has rules (provenance/quality/report.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from provenance.server.store.models import QualityReportRow


class QualityRepository:
    def add(self, s: Session, snapshot_pk: int, report: str) -> None:
        s.add(QualityReportRow(snapshot_pk=snapshot_pk, report=report))

    def get(self, s: Session, snapshot_pk: int) -> str | None:
        return s.scalar(select(QualityReportRow.report).where(QualityReportRow.snapshot_pk == snapshot_pk))
