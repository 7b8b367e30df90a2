"""The ``provenance`` command line: one module per command group."""

from __future__ import annotations

import typer

from provenance.cli import (
    anchor,
    chain,
    check,
    dispute,
    export,
    fsck,
    keys,
    lineage,
    prove,
    retract,
    serve,
    snapshot,
    verify,
)

app = typer.Typer(
    name="provenance",
    help="Verifiable dataset snapshots: build, sign, prove, verify.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(snapshot.app, name="snapshot")
app.add_typer(keys.app, name="keys")
app.add_typer(chain.app, name="chain")
app.command("anchor")(anchor.anchor)
app.command("prove")(prove.prove)
app.command("verify")(verify.verify)
app.command("cut")(verify.cut)
app.command("check")(check.check)
app.command("export")(export.export)
app.command("lineage")(lineage.lineage)
app.command("export-lineage")(lineage.export_lineage)
app.command("fsck")(fsck.fsck)
app.command("retract")(retract.retract)
app.command("dispute")(dispute.dispute)
app.command("serve")(serve.serve)


def main() -> None:
    app()
