"""Run the ledger's HTTP service: uvicorn on a SO_REUSEPORT socket, the anchoring worker and
(with ``--workers N``) further API processes. Reached through ``provenance serve``
(``provenance.cli.serve``), which imports this module only when the server install is present."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
import uvicorn

from api.app import create_app
from provenance.config import DEV_ADMIN_TOKEN, DEV_KEY_PASSWORD, Settings
from provenance.errors import ConfigError
from provenance.server.bootstrap import SAMPLE_DATASET, Service, open_service


def run(cfg: Settings, *, workers: int = 1, extra: bool = False) -> None:
    """Serve until SIGINT/SIGTERM, then stop the worker, the child processes and the chain node."""
    if workers > 1 and not cfg.rpc_url and cfg.chain_backend == "embedded":
        raise ConfigError("several workers need a shared chain: use anvil or PROVENANCE_RPC_URL")
    service = open_service(cfg)
    children: list[subprocess.Popen[bytes]] = []
    try:
        app_ = create_app(service.ledger)
        sock = _listen(cfg.host, cfg.port)
        if extra:  # an extra API process started by the first one
            _tune_gc()
            _Server(uvicorn.Config(app_, log_level="warning", access_log=False)).run(sockets=[sock])
            return
        service.start_supervisor()
        if cfg.run_worker:
            service.start_worker()
        children = [_spawn_api_process(service) for _ in range(workers - 1)]
        _announce(service, cfg, workers)
        _tune_gc()
        # The socket object itself, not its fd: uvicorn wraps an fd as AF_UNIX, and asyncio
        # then skips TCP_NODELAY on accepted connections (Nagle + delayed ACK: 40 ms a reply).
        _Server(uvicorn.Config(app_, log_level="warning", access_log=False)).run(sockets=[sock])
    finally:
        for child in children:
            child.terminate()
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(30)
        service.close()


def _tune_gc() -> None:
    """Keep the cyclic garbage collector off the proof path.

    Under load the collector was the tail: with ``wrk -c32`` on one process, proofs answered at
    p50 33 ms and p99 209 ms, and 19 ms / 38 ms with the collector disabled. What it kept
    scanning were the long-lived objects of start-up (web3, FastAPI, pydantic, the contract
    ABI): frozen, collections skip them (p99 45-62 ms at p50 27-33 ms; a larger first
    generation measured no better)."""
    gc.collect()
    gc.freeze()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT: every API process binds its own, and the kernel
    spreads new connections across them (one shared socket let whichever process woke first
    take every keep-alive connection)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _spawn_api_process(service: Service) -> subprocess.Popen[bytes]:
    """Another API process on the same listening socket, on the chain and database of this one."""
    env = {
        **os.environ,
        "PROVENANCE_RUN_WORKER": "false",
        "PROVENANCE_LOAD_SAMPLE": "false",
        "PROVENANCE_DATA_DIR": str(service.settings.data_dir),
    }
    if service.backend.name != "rpc":  # the managed node: children reach it over JSON-RPC
        env["PROVENANCE_RPC_URL"] = service.backend.node.url  # type: ignore[attr-defined]
        env["PROVENANCE_CHAIN_PRIVATE_KEY"] = service.account.key.hex()
    if service.settings.key_password is not None:
        env["PROVENANCE_KEY_PASSWORD"] = service.settings.key_password.get_secret_value()
    exe = Path(sys.executable).parent / "provenance"
    args = [
        str(exe),
        "serve",
        "--extra",
        "--host",
        service.settings.host,
        "--port",
        str(service.settings.port),
    ]
    return subprocess.Popen(args, env=env)  # noqa: S603 - our own entry point


def _announce(service: Service, cfg: Settings, workers: int) -> None:
    url = f"http://{cfg.host}:{cfg.port}"
    for note in service.notes:
        typer.echo(note)
    typer.echo(
        f"data directory: {cfg.data_dir}   chain: {service.backend.name} "
        f"(chain {service.client.chain_id}), registry {service.client.address}"
    )
    if cfg.environment == "development":
        if os.environ.get("PROVENANCE_KEY_PASSWORD") is None:
            typer.echo(
                f"keystores are encrypted with the development password {DEV_KEY_PASSWORD!r}; "
                "set PROVENANCE_KEY_PASSWORD for your own"
            )
        if cfg.admin_token is None:
            typer.echo(f"admin token (development): {DEV_ADMIN_TOKEN}; set PROVENANCE_ADMIN_TOKEN")
    typer.echo(f"ledger API on {url} ({workers} process{'es' if workers > 1 else ''}; docs: {url}/docs)")
    typer.echo(f"audit console: {url}/audit (verifies in the browser, against the chain's RPC)")
    proof = f"{url}/v1/datasets/{SAMPLE_DATASET}/versions/1/proof?key=BTC,2026-11-27"
    typer.echo(f"try:  curl -s '{proof}' | python3 -m json.tool")
    rpc = service.backend.rpc_url
    if rpc is not None:
        # What an auditor runs: the bundle alone, checked against the chain, not against us.
        typer.echo(
            f"verify it yourself (chain RPC {rpc}):  curl -s '{proof}' | python3 -c "
            "'import json,sys; json.dump(json.load(sys.stdin)[\"bundle\"], sys.stdout)' > btc.json"
            f" && provenance verify btc.json --rpc-url {rpc}"
        )


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
