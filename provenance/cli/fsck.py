"""``provenance fsck``: check a ledger's store (its data directory or PROVENANCE_DATABASE_URL)
against what it signed and anchored; exit 0 when clean, 1 with every difference listed."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from provenance.cli.common import EXIT_FAILED, EXIT_OK, errors_to_exit, out, settings
from provenance.errors import ConfigError


def fsck(
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", help="The anchoring chain (default: the ledger's own)")
    ] = None,
    offline: Annotated[bool, typer.Option(help="Do not look anchors up on the chain")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Rebuild every snapshot root from its stored records, recheck manifest signatures, the
    ledger log against its signed checkpoints and (unless --offline) the anchors on the chain."""
    with errors_to_exit():
        try:
            from provenance.server.fsck import check_ledger
        except ImportError:
            raise ConfigError(
                "fsck reads the ledger's database: pip install 'provenance-ledger[server]'",
                code="config.server-not-installed",
            ) from None
        report = check_ledger(settings(), rpc_url=rpc_url, offline=offline)
        if as_json:
            typer.echo(json.dumps(report.to_json(), indent=2))
        else:
            _print(report)
        raise typer.Exit(EXIT_OK if report.clean else EXIT_FAILED)


def _print(report: Any) -> None:
    c = report
    out.print(
        f"checked {c.snapshots} snapshots ({c.records} records), {c.log_entries} log entries, "
        f"{c.checkpoints} checkpoints, {c.anchors} anchors"
        + ("" if c.chain_checked else " (not on the chain: --offline)")
    )
    for d in c.differences:
        out.print(f"[red]{d.code}[/red] {d.where}: {d.detail}", markup=True, highlight=False)
    out.print("clean" if c.clean else f"{len(c.differences)} difference(s)")
