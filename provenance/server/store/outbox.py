"""The anchoring outbox: what we owe the chain, and where each transaction stands."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from provenance.server.store.database import Database
from provenance.server.store.models import AnchorRow

OPEN_STATES = ("queued", "signed", "sent", "mined")


class OutboxRepository:
    """The anchoring outbox rows: one per transaction we owe the chain."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(
        self,
        s: Session,
        kind: str,
        chain_id: int,
        contract: str,
        *,
        checkpoint_pk: int | None = None,
        snapshot_pk: int | None = None,
        retraction_pk: int | None = None,
    ) -> AnchorRow:
        row = AnchorRow(
            kind=kind,
            chain_id=chain_id,
            contract=contract,
            state="queued",
            checkpoint_pk=checkpoint_pk,
            snapshot_pk=snapshot_pk,
            retraction_pk=retraction_pk,
        )
        s.add(row)
        s.flush()
        return row

    def open_anchors(self, s: Session) -> list[AnchorRow]:
        return list(
            s.scalars(select(AnchorRow).where(AnchorRow.state.in_(OPEN_STATES)).order_by(AnchorRow.id))
        )

    def set_state(self, s: Session, anchor_pk: int, state: str, **values: object) -> None:
        s.execute(
            update(AnchorRow)
            .where(AnchorRow.id == anchor_pk)
            .values(state=state, updated_at=datetime.now(UTC), **values)
        )

    def for_snapshot(self, s: Session, snapshot_pk: int) -> AnchorRow | None:
        return s.scalar(select(AnchorRow).where(AnchorRow.snapshot_pk == snapshot_pk))

    def for_checkpoint(self, s: Session, checkpoint_pk: int) -> AnchorRow | None:
        return s.scalar(select(AnchorRow).where(AnchorRow.checkpoint_pk == checkpoint_pk))

    def listing(self, s: Session, state: str | None = None, limit: int = 100) -> list[AnchorRow]:
        q = select(AnchorRow).order_by(AnchorRow.id.desc()).limit(limit)
        if state:
            q = q.where(AnchorRow.state == state)
        return list(s.scalars(q))

    def state_counts(self, s: Session) -> dict[str, int]:
        rows = s.execute(select(AnchorRow.state, func.count()).group_by(AnchorRow.state))
        return {state: int(count) for state, count in rows}

    def recheck_confirmed(self, s: Session) -> None:
        """Confirmed anchors back to mined: the worker checks each receipt again (a dropped one is
        anchored again; the chain is asked first, so nothing is anchored twice)."""
        s.execute(update(AnchorRow).where(AnchorRow.state == "confirmed").values(state="mined"))
