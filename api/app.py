"""FastAPI app factory: the routers, the error mapping (``errors``), limits and metrics."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors, openapi
from api.metrics import Metrics
from api.middleware import LimitsAndMetrics
from api.routers import anchoring, audit, datasets, health, policies, retractions, sources, verify
from provenance.config import DEV_ADMIN_TOKEN
from provenance.server.ledger import Ledger

ROUTERS = (
    health.router,
    retractions.router,
    policies.router,
    datasets.router,
    verify.router,
    sources.router,
    anchoring.router,
    audit.router,
)


def create_app(ledger: Ledger) -> FastAPI:
    """The HTTP API over ``ledger``; it keeps no state of its own beyond the metrics."""
    settings = ledger.settings
    app = FastAPI(title="Provenance ledger", version="1", docs_url="/docs", openapi_url="/openapi.json")
    app.state.ledger = ledger
    app.state.settings = settings
    app.state.metrics = metrics = Metrics()
    app.state.admin_token = settings.secret(settings.admin_token, "PROVENANCE_ADMIN_TOKEN", DEV_ADMIN_TOKEN)
    errors.install(app)
    app.add_middleware(LimitsAndMetrics, max_body=settings.max_upload_bytes, metrics=metrics)
    for router in ROUTERS:
        app.include_router(router)
    app.state.api_routes = [route for router in ROUTERS for route in router.routes]
    openapi.install(app, ROUTERS)
    return app
