"""``provenance anchor``: anchor a signed snapshot directly (one transaction per snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provenance.cli.chain import RpcUrl, registry, rpc_url
from provenance.cli.common import errors_to_exit, out, settings
from provenance.errors import ChainError
from provenance.folder import SnapshotFolder
from provenance.proofs.bundle import Anchor

if TYPE_CHECKING:
    pass


def anchor(
    directory: Annotated[Path, typer.Argument(help="Signed snapshot directory")],
    url: RpcUrl = None,
) -> None:
    """Submit the signed manifest to the registry; the anchor is recorded in DIR/anchor.json."""
    from provenance.chain.finality import anchor_snapshot_once

    with errors_to_exit():
        cfg = settings()
        snap = SnapshotFolder(directory)
        signed = snap.signed()
        client, account = registry(cfg, rpc_url(cfg, url))
        if (signed.domain.chain_id, signed.domain.verifying_contract) != (client.chain_id, client.address):
            raise ChainError(
                f"the manifest is signed for chain {signed.domain.chain_id} registry "
                f"{signed.domain.verifying_contract}; this node is chain {client.chain_id} registry "
                f"{client.address}: sign again with --chain-id/--registry",
                code="chain.wrong-domain",
            )
        result = anchor_snapshot_once(client, signed, account)
        if result is None:
            out.print("already anchored with this root; anchor.json left as it is")
            return
        record = Anchor(
            "direct", client.chain_id, client.address, result.tx_hash, result.block_number, result.block_hash
        )
        snap.write_anchor(record)
        out.print(
            f"anchored {signed.manifest.dataset} v{signed.manifest.version} in block "
            f"{result.block_number}, tx 0x{result.tx_hash.hex()} ({result.gas_used} gas)"
        )
