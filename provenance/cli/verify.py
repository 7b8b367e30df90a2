"""``provenance verify``: check a proof bundle; exit 0 valid, 1 failed, 2 unusable input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from provenance.cli.common import EXIT_FAILED, EXIT_OK, errors_to_exit, out, settings
from provenance.errors import FormatError
from provenance.proofs import bundle
from provenance.proofs.verdict import Status, Verdict
from provenance.proofs.verify import Policy, verify_bundle

_STYLE = {
    Status.VALID: "green",
    Status.INVALID: "red",
    Status.ABSENT: "yellow",
    Status.PENDING: "yellow",
    Status.SKIPPED: "dim",
    Status.NOT_APPLICABLE: "dim",
}


def read_bundle(path: str, limit: int) -> bytes:
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with Path(path).open("rb") as f:
            data = f.read(limit + 1)
    if len(data) > limit:
        raise FormatError(f"bundle is larger than {limit} bytes", code="bundle.too-large")
    return data


def render(verdict: Verdict, title: str = "") -> Table:
    table = Table(title=title or None, show_header=True, header_style="bold")
    for col in ("check", "status", "reason", "detail"):
        table.add_column(col, overflow="fold")
    for c in verdict.checks:
        table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status.value}[/]", c.reason, c.detail)
    return table


def verify(
    path: Annotated[str, typer.Argument(metavar="BUNDLE", help="Bundle file, or - for stdin")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
    offline: Annotated[
        bool,
        typer.Option(
            help="Do not read a chain: check hashes and signatures only and accept a missing anchor"
        ),
    ] = False,
    log_key: Annotated[list[str] | None, typer.Option(help="Pinned C2SP verifier key of the log")] = None,
    rpc_url: Annotated[
        str | None,
        typer.Option("--rpc-url", help="JSON-RPC URL of the anchoring chain (default: PROVENANCE_RPC_URL)"),
    ] = None,
    confirmations: Annotated[int | None, typer.Option(help="Blocks required on top of the anchor")] = None,
) -> None:
    """Verify a provenance-proof/v1 bundle: every hash, signature and (unless --offline) anchor."""
    with errors_to_exit():
        cfg = settings()
        doc = bundle.parse(read_bundle(path, cfg.max_bundle_bytes))
        chain = None
        url = rpc_url or cfg.rpc_url
        if not offline and doc.anchor is not None and url:
            from provenance.chain.verifier import verifier_for

            chain = verifier_for(url, confirmations or cfg.confirmations)
        policy = Policy(offline=offline, log_keys=tuple(log_key or ()))
        verdict = verify_bundle(doc, policy=policy, chain=chain)
        if as_json:
            typer.echo(json.dumps(verdict.to_json(), indent=2))
        else:
            out.print(
                render(verdict, f"{doc.record.dataset} v{doc.record.version} key {list(doc.record.key)}")
            )
            for i, up in enumerate(verdict.upstream):
                out.print(render(up, f"upstream {i + 1}"))
            out.print(f"verdict: {verdict.status}")
        raise typer.Exit(EXIT_OK if verdict.status == "valid" else EXIT_FAILED)
