"""``provenance serve``: the ledger service. Needs the server install (``provenance-ledger[server]``);
the HTTP layer is imported only when the command runs, so a verifier-only install keeps a CLI
that starts without FastAPI, uvicorn or SQLAlchemy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from provenance.cli.common import errors_to_exit, settings
from provenance.errors import ConfigError

SERVER_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic")


def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default PROVENANCE_HOST, 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PROVENANCE_PORT, 8000)")] = None,
    workers: Annotated[
        int, typer.Option(help="API processes sharing the port (anvil or RPC chains; one anchors)")
    ] = 1,
    extra: Annotated[
        bool, typer.Option(hidden=True, help="An extra API process of a multi-process serve")
    ] = False,
) -> None:
    """Run the ledger: HTTP API, anchoring worker, and (by default) a managed anvil node."""
    with errors_to_exit():
        run = _server_runner()
        cfg = settings()
        cfg = cfg.model_copy(update={"host": host or cfg.host, "port": port or cfg.port})
        run(cfg, workers=workers, extra=extra)


def _server_runner() -> Callable[..., None]:
    """``api.serve.run``, or a clear error when the server install is missing."""
    try:
        from api.serve import run
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in SERVER_MODULES:
            raise
        raise ConfigError(
            f"'provenance serve' needs the server install ({e.name} is missing): "
            "pip install 'provenance-ledger[server]'",
            code="config.server-not-installed",
        ) from None
    runner: Callable[..., None] = run
    return runner
