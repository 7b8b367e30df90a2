"""The anchoring outbox: what we owe the chain, and where each transaction stands."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from provenance.store.models import Anchor

OPEN_STATES = ("queued", "signed", "sent", "mined")


def enqueue(
    s: Session,
    kind: str,
    chain_id: int,
    contract: str,
    *,
    checkpoint_pk: int | None = None,
    snapshot_pk: int | None = None,
) -> Anchor:
    row = Anchor(
        kind=kind,
        chain_id=chain_id,
        contract=contract,
        state="queued",
        checkpoint_pk=checkpoint_pk,
        snapshot_pk=snapshot_pk,
    )
    s.add(row)
    s.flush()
    return row


def open_anchors(s: Session) -> list[Anchor]:
    return list(s.scalars(select(Anchor).where(Anchor.state.in_(OPEN_STATES)).order_by(Anchor.id)))


def set_state(s: Session, anchor_pk: int, state: str, **values: object) -> None:
    s.execute(
        update(Anchor)
        .where(Anchor.id == anchor_pk)
        .values(state=state, updated_at=datetime.now(UTC), **values)
    )


def for_snapshot(s: Session, snapshot_pk: int) -> Anchor | None:
    return s.scalar(select(Anchor).where(Anchor.snapshot_pk == snapshot_pk))


def for_checkpoint(s: Session, checkpoint_pk: int) -> Anchor | None:
    return s.scalar(select(Anchor).where(Anchor.checkpoint_pk == checkpoint_pk))


def listing(s: Session, state: str | None = None, limit: int = 100) -> list[Anchor]:
    q = select(Anchor).order_by(Anchor.id.desc()).limit(limit)
    if state:
        q = q.where(Anchor.state == state)
    return list(s.scalars(q))
