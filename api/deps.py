"""What a route may depend on: the ledger, the settings, the metrics (all set by ``create_app``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from api.metrics import Metrics
from provenance.config import Settings
from provenance.server.ledger import Ledger


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


LedgerDep = Annotated[Ledger, Depends(_ledger)]
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]

# The store keeps versions and log sizes as signed 64-bit integers: a larger one is refused at
# the door (it answered 500 from inside SQLite and reset the connection).
MAX_STORED_INT = 2**63 - 1
Version = Annotated[int, Path(ge=1, le=MAX_STORED_INT)]
FromSize = Annotated[int, Query(alias="from", ge=1, le=MAX_STORED_INT)]
ToSize = Annotated[int, Query(ge=1, le=MAX_STORED_INT)]
# The log's range rules (1 <= from <= to <= latest checkpoint) are the ledger's, with their own
# code; it compares before it reads, so any integer is safe there.
LogFrom = Annotated[int, Query(alias="from")]
LogTo = Annotated[int, Query()]
