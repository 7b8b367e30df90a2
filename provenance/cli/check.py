"""``provenance check``: the CI integrity gate. Exit 0 when the data file is exactly what was
anchored and every check of its snapshot proof holds, 1 on a mismatch or a failed check, 2 when
the input is unusable (no such file, no proof, a salted dataset without its secret)."""

from __future__ import annotations

import json
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from provenance import integrity, integrity_report
from provenance.cli.api_client import get_json, get_lines
from provenance.cli.common import EXIT_FAILED, EXIT_OK, errors_to_exit, out, settings
from provenance.cli.snapshot import read_salt_secret
from provenance.cli.verify import load_policy, read_bundle
from provenance.errors import InputError, ProvenanceError, VerificationError
from provenance.ingest import IngestPool, Upstream
from provenance.integrity import FileTree, Pins, Report
from provenance.policy import evaluate, facts_of
from provenance.proofs import snapshot
from provenance.proofs.snapshot import SnapshotProof
from provenance.proofs.verdict import Check, Status
from provenance.proofs.verify import Policy
from provenance.records.schema import Schema

FORMATS = ("text", "json", "junit", "sarif")


def check(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The data file (CSV, JSON Lines, Parquet)")],
    dataset: Annotated[str, typer.Option(help="Dataset name the file was published as")],
    version: Annotated[int | None, typer.Option(help="Version (default with --api: --latest)")] = None,
    latest: Annotated[bool, typer.Option(help="The latest version (asks the API)")] = False,
    proof_file: Annotated[
        Path | None, typer.Option("--snapshot-proof", help="provenance-snapshot-proof/v1 file")
    ] = None,
    api: Annotated[
        str | None, typer.Option(help="URL of the ledger's HTTP API (instead of a proof file)")
    ] = None,
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", help="JSON-RPC URL of the chain (default: PROVENANCE_RPC_URL)")
    ] = None,
    registry: Annotated[str | None, typer.Option(help="Pinned ProvenanceRegistry address")] = None,
    signer: Annotated[str | None, typer.Option(help="Pinned source (signer) address")] = None,
    previous: Annotated[
        Path | None, typer.Option(help="The data as anchored (an earlier copy): lists what changed")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json, junit or sarif")] = "text",
    output: Annotated[Path | None, typer.Option(help="Write the report here (default: stdout)")] = None,
    junit: Annotated[Path | None, typer.Option(help="Also write a JUnit report here")] = None,
    sarif: Annotated[Path | None, typer.Option(help="Also write a SARIF report here")] = None,
    file_format: Annotated[str | None, typer.Option(help="csv, jsonl or parquet (default: by name)")] = None,
    salt_secret: Annotated[Path | None, typer.Option(help="The salt secret of a salted dataset")] = None,
    log_key: Annotated[list[str] | None, typer.Option(help="Pinned C2SP verifier key of the log")] = None,
    confirmations: Annotated[int | None, typer.Option(help="Blocks required on top of the anchor")] = None,
    token: Annotated[str | None, typer.Option(help="API token (a salted dataset's records)")] = None,
    policy_source: Annotated[
        str | None, typer.Option("--policy", help="The dataset's verification policy (bundle file or URL)")
    ] = None,
    level: Annotated[str | None, typer.Option(help="Policy level required (default: its first)")] = None,
) -> None:
    """Recompute FILE's snapshot root locally under its signed schema and check it against the
    snapshot proof and the chain: signature, pinned signer, log inclusion, checkpoint, anchor."""
    with errors_to_exit():
        cfg = settings()
        url = _arguments(fmt, proof_file, api, rpc_url or cfg.rpc_url)
        source = _Source(api, token)
        proof = _load_proof(source, proof_file, dataset, version, latest)
        schema = proof.manifest.manifest.schema
        salt = _salt(schema, salt_secret)
        upstream = _upstream(source, proof, schema)
        policy = Policy(log_keys=tuple(log_key or ()))
        confirm = confirmations or cfg.confirmations
        data, tree, checks = _hash_and_verify(
            path, proof, file_format, salt, upstream, url, confirm, Pins(signer, registry), policy
        )
        report = Report(proof.dataset, proof.version, str(path), (data, *checks))
        graded = _policy_check(
            report, proof, policy_source, level, policy, url, confirm, cfg.max_bundle_bytes
        )
        report = Report(report.dataset, report.version, report.file, (*report.checks, graded))
        if report.status == "mismatch" and tree is not None:
            report = _with_diff(report, tree, proof, source, previous, file_format, salt, upstream)
        _emit(report, fmt, output)
        for path_, kind in ((junit, "junit"), (sarif, "sarif")):
            if path_ is not None:
                path_.write_text(_render(report, kind) + "\n")
        raise typer.Exit(EXIT_OK if report.status == "match" else EXIT_FAILED)


def _hash_and_verify(
    path: Path,
    proof: SnapshotProof,
    fmt: str | None,
    salt: bytes | None,
    upstream: Upstream | None,
    url: str,
    confirmations: int,
    pins: Pins,
    policy: Policy,
) -> tuple[Check, FileTree | None, tuple[Check, ...]]:
    """Hash the file in worker processes while a thread checks the proof against the chain
    (the RPC reads, and web3's import until the chain was read over plain JSON-RPC, took 1.5-2 s
    of a 10 s check of 1M records). The workers are forked first, while this process still has
    one thread."""

    def chain_checks() -> tuple[Check, ...]:
        from provenance.chain.verifier import verifier_for

        chain = verifier_for(url, confirmations)
        return integrity.proof_checks(proof, chain=chain, pins=pins, policy=policy)

    pool = IngestPool()
    try:
        pool.get()
        with ThreadPoolExecutor(max_workers=1) as background:
            checks = background.submit(chain_checks)
            m = proof.manifest.manifest
            data, tree = _hash(path, m.schema, fmt, salt, upstream, pool, m.created_at)
            quality = Check("quality", Status.NOT_APPLICABLE, "", "the file was not read")
            if tree is not None:
                data, quality = integrity.data_check(tree, proof), integrity.quality_check(tree, proof)
            assert data is not None
            return data, tree, (quality, *checks.result())
    finally:
        pool.close()


def _arguments(fmt: str, proof_file: Path | None, api: str | None, url: str | None) -> str:
    """The chain's RPC URL, once the arguments are known to make sense together."""
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}", code="input.bad-arguments")
    if (proof_file is None) == (api is None):
        raise InputError("give --snapshot-proof FILE or --api URL", code="input.bad-arguments")
    if not url:
        raise InputError("--rpc-url (or PROVENANCE_RPC_URL) is required", code="input.bad-arguments")
    return url


def _policy_check(
    report: Report,
    proof: SnapshotProof,
    source: str | None,
    level: str | None,
    policy: Policy,
    url: str,
    confirmations: int,
    limit: int,
) -> Check:
    """The ``policy`` check: the level asked for (by default the policy's first) met by the
    checked data, the policy's own bundle verified first (provenance/policy.py)."""
    if source is None:
        return Check("policy", Status.NOT_APPLICABLE, "", "no --policy given")
    from provenance.chain.verifier import verifier_for

    chain = verifier_for(url, confirmations)
    published = load_policy(source, proof, policy, chain, limit)
    depth, anchored_at = chain.anchor_time(proof)
    result = evaluate(published, facts_of(proof, report.status == "match", depth, anchored_at))
    levels = "; ".join(
        f"{n}: " + ("met" if not u else "not met (" + ", ".join(u) + ")") for n, u in result.levels
    )
    if result.meets(level):
        return Check("policy", Status.VALID, "", f"met {result.met} — {levels}")
    return Check(
        "policy", Status.INVALID, "policy.level-unmet", f"{level or result.levels[0][0]} not met — {levels}"
    )


class _Source:
    """The ledger's API, when given."""

    def __init__(self, api: str | None, token: str | None) -> None:
        self.api = api.rstrip("/") if api else None
        self.token = token

    def url(self, name: str, tail: str) -> str:
        assert self.api is not None
        return f"{self.api}/v1/datasets/{urllib.parse.quote(name)}{tail}"

    def records(self, name: str, version: int, key: tuple[str, ...]) -> FileTree:
        lines = get_lines(self.url(name, f"/versions/{version}/records"), self.token)
        return integrity.hash_entries(lines, key, f"{self.api} {name} v{version}")


def _load_proof(
    source: _Source, proof_file: Path | None, dataset: str, version: int | None, latest: bool
) -> SnapshotProof:
    if latest and version is not None:
        raise InputError("give --version or --latest, not both", code="input.bad-arguments")
    if proof_file is not None:
        proof = snapshot.parse(read_bundle(str(proof_file), 64 << 20))
    else:
        if version is None:
            versions = get_json(source.url(dataset, "/versions"))
            if not versions:
                raise InputError(f"{dataset} has no version yet", code="check.no-version")
            version = max(v["version"] for v in versions)
        proof = snapshot.from_json(get_json(source.url(dataset, f"/versions/{version}/snapshot-proof")))
    if proof.dataset != dataset or (version is not None and proof.version != version):
        wanted = f"{dataset} v{version}" if version is not None else dataset
        raise InputError(
            f"the snapshot proof is for {proof.dataset} v{proof.version}, not {wanted}",
            code="check.wrong-snapshot",
        )
    return proof


def _salt(schema: Schema, salt_secret: Path | None) -> bytes | None:
    if not schema.salted:
        return None
    if salt_secret is None:
        raise InputError(
            "the dataset is salted: its root cannot be recomputed without --salt-secret",
            code="check.salted",
        )
    return read_salt_secret(salt_secret)


def _upstream(source: _Source, proof: SnapshotProof, schema: Schema) -> Upstream | None:
    """A derived dataset's refs are pinned to its parents' leaves: the parents' records, from
    the API, each recomputed to the root that the child's manifest signs for it."""
    if schema.derived_from is None:
        return None
    if source.api is None:
        raise InputError(
            "a derived dataset's refs pin its parents' records: give --api to fetch them",
            code="check.needs-parents",
        )
    out = {}
    for parent in proof.manifest.manifest.parents:
        assert parent.dataset is not None  # the ledger names every parent
        schema_of = Schema.from_json(get_json(source.url(parent.dataset, ""))["schema"])
        tree = source.records(parent.dataset, parent.version, schema_of.key)
        if tree.root != parent.root:
            raise VerificationError(
                f"parent {parent.dataset} v{parent.version}'s records hash to {tree.root.hex()}, "
                f"the manifest signs {parent.root.hex()}",
                code="check.parent-mismatch",
            )
        out[(parent.dataset, parent.version)] = integrity.upstream_of(tree)
    return out


def _hash(
    path: Path,
    schema: Schema,
    fmt: str | None,
    salt: bytes | None,
    upstream: Upstream | None,
    pool: IngestPool | None = None,
    as_of: int | None = None,
) -> tuple[Check | None, FileTree | None]:
    """The file's tree, or — when the file no longer reads under the signed schema — a failed
    data check naming line and column (that is a mismatch too, not unusable input)."""
    if not path.is_file():
        raise InputError(f"no data file {path}", code="input.not-found")
    try:
        return None, integrity.hash_file(
            path, schema, fmt=fmt, salt_secret=salt, upstream=upstream, pool=pool, as_of=as_of
        )
    except ProvenanceError as e:
        if e.code in ("input.unknown-format", "input.unreadable"):
            raise
        return Check(
            "data", Status.INVALID, e.code, f"the file does not read under the signed schema: {e}"
        ), None


def _with_diff(
    report: Report,
    tree: FileTree,
    proof: SnapshotProof,
    source: _Source,
    previous: Path | None,
    fmt: str | None,
    salt: bytes | None,
    upstream: Upstream | None,
) -> Report:
    m = proof.manifest.manifest
    if previous is not None:
        anchored = integrity.hash_file(previous, m.schema, fmt=fmt, salt_secret=salt, upstream=upstream)
    elif source.api is not None:
        anchored = source.records(proof.dataset, proof.version, m.schema.key)
    else:
        note = "give --previous FILE or --api URL to list the records that differ"
        return Report(report.dataset, report.version, report.file, report.checks, None, (note,))
    proven = anchored.root == m.root and anchored.size == m.size
    note = (
        f"the records compared against hash to the signed root: {anchored.source}"
        if proven
        else f"{anchored.source} does not hash to the signed root either: the changes are against it"
    )
    return Report(
        report.dataset, report.version, report.file, report.checks, integrity.diff(tree, anchored), (note,)
    )


def _emit(report: Report, fmt: str, output: Path | None) -> None:
    if fmt == "text":
        _print(report)
        return
    text = _render(report, fmt)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        _print(report)


def _render(report: Report, fmt: str) -> str:
    if fmt == "junit":
        return integrity_report.to_junit(report)
    doc = integrity_report.to_json(report) if fmt == "json" else integrity_report.to_sarif(report)
    return json.dumps(doc, indent=2)


def _print(report: Report) -> None:
    table = Table(title=f"{report.file} against {report.dataset} v{report.version}", header_style="bold")
    for col in ("check", "status", "reason", "detail"):
        table.add_column(col, overflow="fold")
    for c in report.checks:
        style = "green" if c.status is Status.VALID else "dim" if c.status is Status.NOT_APPLICABLE else "red"
        table.add_row(c.name, f"[{style}]{c.status.value}[/]", escape(c.reason), escape(c.detail))
    out.print(table)
    if report.diff is not None:
        counts = ", ".join(f"{n} {k}" for k, n in report.diff.counts.items())
        out.print(f"records: {counts}")
        for change in report.diff.changes[:50]:
            where = f" (line {change.line})" if change.line else ""
            out.print(escape(f"  {change.kind:8} {change.key}{where}"))
    for note in report.notes:
        out.print(escape(note))
    out.print(f"result: {report.status}")
