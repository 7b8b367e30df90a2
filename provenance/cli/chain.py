"""``provenance chain``: a dev node, deployment, and the registry's owner operations."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provenance.cli.common import err, errors_to_exit, out, password, settings
from provenance.config import Settings
from provenance.errors import ChainError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from provenance.chain.registry import RegistryClient


app = typer.Typer(
    help="Run a dev chain, deploy the registry, manage sources and anchorers.", no_args_is_help=True
)

RpcUrl = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        help="JSON-RPC URL (default: PROVENANCE_RPC_URL or the dev anvil on 127.0.0.1:PROVENANCE_ANVIL_PORT)",
    ),
]


def rpc_url(cfg: Settings, given: str | None) -> str:
    return given or cfg.rpc_url or f"http://127.0.0.1:{cfg.anvil_port}"


def tx_account(cfg: Settings, chain_id: int) -> LocalAccount:
    """The account that pays for transactions: keystore, env key, or (dev chain only) anvil's key 0."""
    from eth_account import Account

    from provenance.chain.backends import ANVIL_CHAIN_ID, ANVIL_DEV_KEYS
    from provenance.keys import load_source_key

    key: bytes | str
    if cfg.chain_key_file is not None:
        key = load_source_key(cfg.chain_key_file, password(cfg))
    elif cfg.chain_private_key is not None:
        key = cfg.chain_private_key.get_secret_value()
    elif chain_id == ANVIL_CHAIN_ID:
        err.print("using anvil's public dev account 0 (set PROVENANCE_CHAIN_KEY_FILE for a real chain)")
        key = ANVIL_DEV_KEYS[0]
    else:
        raise ChainError(
            f"chain {chain_id} needs PROVENANCE_CHAIN_KEY_FILE or PROVENANCE_CHAIN_PRIVATE_KEY",
            code="chain.no-key",
        )
    account: LocalAccount = Account.from_key(key)
    return account


def registry(cfg: Settings, url: str) -> tuple[RegistryClient, LocalAccount]:
    from provenance.chain.backends import rpc_web3
    from provenance.chain.deploy import attach, load_deployment

    w3 = rpc_web3(url)
    client = attach(w3, load_deployment(cfg.deployments_dir, int(w3.eth.chain_id)))
    return client, tx_account(cfg, client.chain_id)


@app.command("up")
def up(
    port: Annotated[int | None, typer.Option(help="Port (default PROVENANCE_ANVIL_PORT, 8545)")] = None,
    state: Annotated[
        Path | None, typer.Option(help="State file (default DATA_DIR/chain/anvil-state.json)")
    ] = None,
) -> None:
    """Run a local anvil node (chain 31337) until interrupted; its state persists across runs."""
    from provenance.chain.backends import AnvilNode

    with errors_to_exit():
        cfg = settings()
        node = AnvilNode(
            state_file=state or cfg.data_dir / "chain" / "anvil-state.json", port=port or cfg.anvil_port
        )
        node.start()
        out.print(f"anvil on {node.url} (chain {node.chain_id}), state {node.state_file}; Ctrl-C stops it")
        stop = False

        def on_signal(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        try:
            while not stop and node.process is not None and node.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            node.stop()
            out.print("anvil stopped; state saved")


@app.command("deploy")
def deploy_cmd(
    url: RpcUrl = None,
    owner: Annotated[str | None, typer.Option(help="Registry owner (default: the deploying account)")] = None,
) -> None:
    """Deploy ProvenanceRegistry and write deployments/<chainId>.json."""
    from provenance.chain.backends import rpc_web3
    from provenance.chain.deploy import deploy, save_deployment

    with errors_to_exit():
        cfg = settings()
        w3 = rpc_web3(rpc_url(cfg, url))
        account = tx_account(cfg, int(w3.eth.chain_id))
        client, deployment = deploy(w3, account, owner)
        path = save_deployment(cfg.deployments_dir, deployment)
        out.print(
            f"ProvenanceRegistry at {client.address} on chain {deployment.chain_id}, "
            f"block {deployment.deploy_block}\n{path}"
        )


@app.command("register-source")
def register_source(address: str, url: RpcUrl = None) -> None:
    """Register a source signing address (registry owner only)."""
    with errors_to_exit():
        client, account = registry(settings(), rpc_url(settings(), url))
        result = client.register_source(address, account)
        out.print(f"registered {address} in block {result.block_number}")


@app.command("revoke-source")
def revoke_source(address: str, url: RpcUrl = None) -> None:
    """Revoke a source for good (registry owner only)."""
    with errors_to_exit():
        client, account = registry(settings(), rpc_url(settings(), url))
        result = client.revoke_source(address, account)
        out.print(f"revoked {address} in block {result.block_number}")


@app.command("set-anchorer")
def set_anchorer(
    address: str, url: RpcUrl = None, enabled: Annotated[bool, typer.Option("--enable/--disable")] = True
) -> None:
    """Allow or disallow an account to anchor checkpoints (registry owner only)."""
    with errors_to_exit():
        client, account = registry(settings(), rpc_url(settings(), url))
        result = client.set_anchorer(address, enabled, account)
        out.print(f"anchorer {address} {'enabled' if enabled else 'disabled'} in block {result.block_number}")


@app.command("set-log-key")
def set_log_key(
    key: Annotated[str, typer.Argument(help="C2SP verifier key (the data directory's keys/log.vkey)")],
    url: RpcUrl = None,
    trusted: Annotated[bool, typer.Option("--trust/--withdraw")] = True,
) -> None:
    """Vouch for (or withdraw) the log key verifiers pin checkpoints to (registry owner only)."""
    with errors_to_exit():
        client, account = registry(settings(), rpc_url(settings(), url))
        result = client.set_log_key(key.strip(), trusted, account)
        name = key.split("+")[0]
        out.print(
            f"log key {name} {'vouched for' if trusted else 'withdrawn'} in block {result.block_number}"
        )


@app.command("status")
def status(url: RpcUrl = None) -> None:
    """Show the deployment and the latest anchored checkpoint."""
    from provenance.chain.backends import rpc_web3
    from provenance.chain.deploy import attach, load_deployment

    with errors_to_exit():
        cfg = settings()
        w3 = rpc_web3(rpc_url(cfg, url))
        deployment = load_deployment(cfg.deployments_dir, int(w3.eth.chain_id))
        client = attach(w3, deployment)
        latest = client.latest_checkpoint()
        out.print(
            f"chain {deployment.chain_id}, registry {client.address} (deployed in block "
            f"{deployment.deploy_block}), head block {client.block_number()}"
        )
        out.print(
            "no checkpoint anchored"
            if latest is None
            else f"latest checkpoint #{latest.index}: log size {latest.size}, root {latest.root.hex()}"
        )
