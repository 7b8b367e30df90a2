"""Sources (signing addresses) as the service knows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eth_utils.address import to_checksum_address
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from provenance.errors import ConflictError, NotFoundError
from provenance.server.store.database import Database
from provenance.server.store.models import SourceRow


@dataclass(frozen=True)
class SourceUpdate:
    """A source whose status here has not reached the chain yet."""

    pk: int
    address: str
    status: str


class SourceRepository:
    """Signing addresses, their status here and whether the chain has caught up."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(self, s: Session, address: str, name: str, keystore: str | None = None) -> SourceRow:
        address = to_checksum_address(address)
        existing = s.scalar(select(SourceRow).where(SourceRow.address == address))
        if existing is not None:
            if existing.status == "revoked":
                raise ConflictError(
                    f"source {address} was revoked; revocation is final", code="source.revoked"
                )
            return existing
        row = SourceRow(address=address, name=name, status="active", keystore=keystore, chain_state="pending")
        s.add(row)
        s.flush()
        return row

    def revoke(self, s: Session, address: str) -> SourceRow:
        row = self.get(s, address)
        s.execute(
            update(SourceRow)
            .where(SourceRow.id == row.id)
            .values(status="revoked", chain_state="pending", updated_at=datetime.now(UTC))
        )
        s.refresh(row)
        return row

    def get(self, s: Session, address: str) -> SourceRow:
        row = s.scalar(select(SourceRow).where(SourceRow.address == to_checksum_address(address)))
        if row is None:
            raise NotFoundError(f"no source {address}", code="source.not-found")
        return row

    def find(self, s: Session, address: str) -> SourceRow | None:
        return s.scalar(select(SourceRow).where(SourceRow.address == to_checksum_address(address)))

    def listing(self, s: Session) -> list[SourceRow]:
        return list(s.scalars(select(SourceRow).order_by(SourceRow.id)))

    def pending_chain_updates(self, s: Session) -> list[SourceRow]:
        return list(s.scalars(select(SourceRow).where(SourceRow.chain_state == "pending")))

    def mark_on_chain(self, s: Session, source_pk: int, state: str) -> None:
        s.execute(
            update(SourceRow)
            .where(SourceRow.id == source_pk)
            .values(chain_state=state, updated_at=datetime.now(UTC))
        )

    def recheck_all(self, s: Session) -> None:
        """Every source back to pending: the worker compares each with the chain (idempotently)."""
        s.execute(update(SourceRow).where(SourceRow.chain_state != "pending").values(chain_state="pending"))
