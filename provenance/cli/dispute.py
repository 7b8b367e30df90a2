"""``provenance dispute``: anyone raises a dispute against a published snapshot, on-chain.

The disputer sends the transaction with their own key (and pays its gas): the registry records
who disputed, the SHA-256 of the reason and where the evidence is. Verifiers that read the chain
then show the snapshot's bundles with the warning ``anchor.disputed``; the verdict stands.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Annotated

import typer

from provenance.cli.api_client import get_json
from provenance.cli.common import errors_to_exit, out, password, settings


def dispute(
    dataset: str,
    version: int,
    reason: Annotated[
        str, typer.Option(help="Why (its SHA-256 goes on-chain; publish the text with the evidence)")
    ],
    key: Annotated[
        Path, typer.Option(help="The disputer's keystore (it sends and pays for the transaction)")
    ],
    rpc_url: Annotated[str, typer.Option("--rpc-url", help="JSON-RPC URL of the registry's chain")],
    api: Annotated[str, typer.Option(help="The ledger's URL (the registry and the version's root)")] = (
        "http://127.0.0.1:8000"
    ),
    evidence_uri: Annotated[str, typer.Option(help="Where the evidence is published")] = "",
) -> None:
    """Dispute DATASET VERSION on-chain; prints the transaction."""
    from eth_account import Account

    from provenance.chain.backends import rpc_web3
    from provenance.chain.registry import RegistryClient
    from provenance.datasets import dataset_id
    from provenance.fields import bytes32
    from provenance.keys import load_source_key
    from provenance.retraction import reason_hash

    with errors_to_exit():
        base = api.rstrip("/")
        deployment = get_json(f"{base}/v1/deployment")
        info = get_json(f"{base}/v1/datasets/{urllib.parse.quote(dataset)}/versions/{version}")
        account = Account.from_key(load_source_key(key, password(settings())))
        client = RegistryClient(rpc_web3(rpc_url), deployment["address"])
        root = bytes32(info["root"], "root")
        result = client.dispute(
            dataset_id(dataset), version, root, reason_hash(reason), evidence_uri, account
        )
        count = client.dispute_count(dataset_id(dataset), version, root)
        tx = f"0x{result.tx_hash.hex()} (block {result.block_number})"
        out.print(f"disputed {dataset}@{version} in transaction {tx}; {count} dispute(s) on record")
