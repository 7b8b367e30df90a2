"""The ``provenance`` command with ``serve`` added (the web layer depends on the core, not back)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Annotated

import typer
import uvicorn

from provenance.cli import app
from provenance.cli.common import errors_to_exit, settings


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default PROVENANCE_HOST, 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PROVENANCE_PORT, 8000)")] = None,
) -> None:
    """Run the ledger: HTTP API, anchoring worker, and (by default) a managed anvil node."""
    from api.app import create_app
    from provenance.config import DEV_ADMIN_TOKEN, DEV_KEY_PASSWORD
    from provenance.service import SAMPLE_DATASET, open_service

    with errors_to_exit():
        cfg = settings()
        cfg = cfg.model_copy(update={"host": host or cfg.host, "port": port or cfg.port})
        service = open_service(cfg)
        try:
            app_ = create_app(service)
            if cfg.run_worker:
                service.start_worker()
            url = f"http://{cfg.host}:{cfg.port}"
            for note in service.notes:
                typer.echo(note)
            typer.echo(
                f"data directory: {cfg.data_dir}   chain: {service.backend.name} "
                f"(chain {service.client.chain_id}), registry {service.client.address}"
            )
            if cfg.environment == "development":
                if cfg.key_password is None:
                    typer.echo(
                        f"keystores are encrypted with the development password {DEV_KEY_PASSWORD!r}; "
                        "set PROVENANCE_KEY_PASSWORD for your own"
                    )
                if cfg.admin_token is None:
                    typer.echo(f"admin token (development): {DEV_ADMIN_TOKEN}; set PROVENANCE_ADMIN_TOKEN")
            typer.echo(f"ledger API on {url}  (docs: {url}/docs)")
            typer.echo(
                "try:  curl -s '"
                + url
                + "/v1/datasets/"
                + SAMPLE_DATASET
                + "/versions/1/proof?key=BTC,2026-11-27' | python3 -m json.tool"
            )
            server = _Server(
                uvicorn.Config(app_, host=cfg.host, port=cfg.port, log_level="warning", access_log=False)
            )
            server.run()
        finally:
            service.close()


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after shutting down, which would kill the process before
    our cleanup (stopping the anvil node and the worker) runs; here a signal only asks to exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def ask_exit(*_: object) -> None:
            self.should_exit = True

        old = {sig: signal.signal(sig, ask_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)


def main() -> None:
    app()
