"""``provenance retract``: withdraw a published snapshot, in either anchoring mode.

With ``--key`` the source signs the retraction here (its key never leaves this machine) and the
ledger relays it; without, the ledger signs with the dataset's server-held key (admin token).
Either way the retraction reaches the registry through the ledger's outbox, and every verifier
that reads the chain reports the snapshot's bundles as ``retracted``.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Annotated, Any

import typer

from provenance.cli.api_client import get_json, post_json
from provenance.cli.common import errors_to_exit, out, password, settings


def retract(
    dataset: str,
    version: int,
    reason: Annotated[str, typer.Option(help="Why: served with the retraction, its SHA-256 signed")],
    api: Annotated[str, typer.Option(help="The ledger's URL")] = "http://127.0.0.1:8000",
    key: Annotated[
        Path | None, typer.Option(help="The source's keystore: sign here, not on the server")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Admin token (default: PROVENANCE_ADMIN_TOKEN)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON")] = False,
) -> None:
    """Retract DATASET VERSION with a reason; exit 0 once the ledger has queued it for the chain."""
    with errors_to_exit():
        base = api.rstrip("/")
        path = f"{base}/v1/datasets/{urllib.parse.quote(dataset)}/versions/{version}"
        if key is not None:
            body: dict[str, Any] = {
                "signedRetraction": _signed_here(base, path, dataset, version, reason, key)
            }
            answer = post_json(f"{path}/retraction", body)
        else:
            admin = token or os.environ.get("PROVENANCE_ADMIN_TOKEN")
            answer = post_json(f"{path}/retraction", {"reason": reason}, admin)
        if as_json:
            out.print_json(json.dumps(answer))
        else:
            out.print(
                f"{dataset}@{version} retracted by {answer['signer']} ({answer['state']}; {path}/retraction)"
            )


def _signed_here(base: str, path: str, dataset: str, version: int, reason: str, key: Path) -> dict[str, Any]:
    from provenance.fields import bytes32
    from provenance.keys import load_source_key
    from provenance.manifest import Domain
    from provenance.retraction import Retraction, sign_retraction

    deployment = get_json(f"{base}/v1/deployment")
    root = bytes32(get_json(path)["root"], "root")
    private = load_source_key(key, password(settings()))
    domain = Domain(deployment["chainId"], deployment["address"])
    return sign_retraction(Retraction(dataset, version, root, reason), domain, private).to_json()
