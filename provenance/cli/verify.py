"""``provenance verify``: check a proof bundle; exit 0 valid, 1 failed, 2 unusable input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from provenance import strict_json
from provenance.cli.api_client import get_json
from provenance.cli.common import EXIT_FAILED, EXIT_OK, errors_to_exit, out, settings
from provenance.errors import FormatError
from provenance.policy import Policy as PublishedPolicy
from provenance.policy import PolicyResult, evaluate, facts_of, trusted_policy
from provenance.proofs import bundle, collection
from provenance.proofs.bundle import Sections
from provenance.proofs.collection import MAX_COLLECTION_BYTES
from provenance.proofs.collection_stream import is_jsonl_header, verify_file
from provenance.proofs.collection_verify import CollectionVerdict, verify_collection
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


def read_document(path: str, bundle_limit: int) -> Any:
    """A bundle (at most ``bundle_limit`` bytes) or a collection (at most 1 GiB), parsed."""
    data = read_bundle(path, MAX_COLLECTION_BYTES)
    doc = strict_json.loads(data, max_bytes=MAX_COLLECTION_BYTES)
    if not collection.is_collection(doc) and len(data) > bundle_limit:
        raise FormatError(f"bundle is larger than {bundle_limit} bytes", code="bundle.too-large")
    return doc


def render(verdict: Verdict, title: str = "") -> Table:
    table = Table(title=title or None, show_header=True, header_style="bold")
    for col in ("check", "status", "reason", "detail"):
        table.add_column(col, overflow="fold")
    for c in verdict.checks:
        table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status.value}[/]", escape(c.reason), escape(c.detail))
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
    policy_file: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="The dataset's verification policy: its bundle (file or the API's .../policy URL)",
        ),
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="The policy level required (default: the policy's first)")
    ] = None,
) -> None:
    """Verify a provenance-proof/v1 bundle or a provenance-proofs/v1 collection (every record, every
    lineage edge): every hash, signature and (unless --offline) anchor. With --policy, grade the
    datum by its dataset's published policy and report the highest level it meets."""
    with errors_to_exit():
        cfg = settings()
        url = rpc_url or cfg.rpc_url

        def connect() -> Any:
            if offline or not url:
                return None
            from provenance.chain.verifier import verifier_for

            return verifier_for(url, confirmations or cfg.confirmations)

        policy = Policy(offline=offline, log_keys=tuple(log_key or ()))
        if path != "-" and is_jsonl_collection(Path(path)):  # the chain is read while workers hash
            _print_collection(verify_file(Path(path), policy=policy, connect=connect), as_json)
        chain = connect()
        raw = read_document(path, cfg.max_bundle_bytes)
        if collection.is_collection(raw):
            _verify_collection(collection.from_json(raw), policy, chain, as_json)
        doc = bundle.from_json(raw)
        verdict = verify_bundle(doc, policy=policy, chain=chain if doc.anchor is not None else None)
        graded = None
        if policy_file is not None:
            graded = grade(doc, verdict, policy_file, policy, chain, cfg.max_bundle_bytes)
        _print_bundle(doc, verdict, graded, as_json)
        ok = verdict.status == "valid" and (graded is None or graded.meets(level))
        raise typer.Exit(EXIT_OK if ok else EXIT_FAILED)


def _print_bundle(
    doc: bundle.ProofBundle, verdict: Verdict, graded: PolicyResult | None, as_json: bool
) -> None:
    if as_json:
        body = verdict.to_json()
        if graded is not None:
            body["policy"] = graded.to_json()
        typer.echo(json.dumps(body, indent=2))
        return
    out.print(render(verdict, f"{doc.record.dataset} v{doc.record.version} key {list(doc.record.key)}"))
    for i, up in enumerate(verdict.upstream):
        out.print(render(up, f"upstream {i + 1}"))
    for w in verdict.warnings:
        out.print(f"[yellow]warning {escape(w.reason)}[/]: {escape(w.detail)}")
    out.print(f"verdict: {verdict.status}")
    if graded is not None:
        for name, unmet in graded.levels:
            out.print(
                f"policy level {name}: " + ("met" if not unmet else "not met: " + escape("; ".join(unmet)))
            )
        out.print(f"policy: {graded.met or 'no level'} met")


def grade(
    doc: bundle.ProofBundle, verdict: Verdict, source: str, policy: Policy, chain: Any, limit: int
) -> PolicyResult:
    """Verify the policy's own bundle, then grade the datum by it (chain facts read when online)."""
    published = load_policy(source, doc, policy, chain, limit)
    depth, anchored_at = (
        chain.anchor_time(doc) if chain is not None and doc.anchor is not None else (None, None)
    )
    return evaluate(published, facts_of(doc, verdict.status == "valid", depth, anchored_at))


def load_policy(source: str, datum: Sections, policy: Policy, chain: Any, limit: int) -> PublishedPolicy:
    """The policy published for the datum's dataset: its bundle (a file, or the API's policy
    URL) verified like any bundle, and signed by the datum's signer."""
    raw = (
        get_json(source)
        if source.startswith(("http://", "https://"))
        else strict_json.loads(read_bundle(source, limit))
    )
    policy_doc = bundle.from_json(raw["bundle"] if isinstance(raw, dict) and "bundle" in raw else raw)
    policy_verdict = verify_bundle(
        policy_doc, policy=policy, chain=chain if policy_doc.anchor is not None else None
    )
    return trusted_policy(policy_doc, policy_verdict, datum)


def is_jsonl_collection(path: Path) -> bool:
    """Whether the file's first line says it is a JSON Lines collection header. Read leniently
    (the collection reader reads it strictly), so that a hostile header gets the collection's
    error, not the one of a bundle it never was."""
    with path.open("rb") as f:
        first = f.readline(MAX_COLLECTION_BYTES)
    try:
        return is_jsonl_header(orjson.loads(first))
    except orjson.JSONDecodeError:
        return False


def _verify_collection(parsed: collection.Collection, policy: Policy, chain: Any, as_json: bool) -> None:
    _print_collection(verify_collection(parsed, policy=policy, chain=chain), as_json)


def _print_collection(verdict: CollectionVerdict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(verdict.to_json(), indent=2))
    else:
        for label, v in verdict.snapshots:
            out.print(render(v, f"snapshot {label}"))
        out.print(
            f"records: {verdict.records_valid} of {verdict.records} valid; lineage edges: "
            f"{verdict.edges_valid} of {verdict.edges} valid, {verdict.edges_outside} outside the collection"
        )
        for f in verdict.failures:
            # escaped: rich would take "[inclusion.root-mismatch]" for a style and drop it
            out.print(f"[red]failed[/] {escape(f'{f.where}: [{f.reason}] {f.detail}')}")
        if verdict.failure_count > len(verdict.failures):
            out.print(f"… and {verdict.failure_count - len(verdict.failures)} more failures")
        out.print(f"verdict: {verdict.status}")
    raise typer.Exit(EXIT_OK if verdict.status == "valid" else EXIT_FAILED)


def cut(
    path: Annotated[str, typer.Argument(metavar="COLLECTION", help="provenance-proofs/v1 file, or -")],
    index: Annotated[int | None, typer.Option(help="Record index (default: the collection's root)")] = None,
) -> None:
    """Print one record of a collection as a standalone provenance-proof/v1 bundle."""
    with errors_to_exit():
        parsed = collection.from_json(read_document(path, MAX_COLLECTION_BYTES))
        at = index if index is not None else (parsed.root or 0)
        if not 0 <= at < len(parsed.records):
            raise FormatError(
                f"no record {at}: the collection has {len(parsed.records)}", code="collection.no-record"
            )
        typer.echo(json.dumps(collection.cut_out(parsed, at), indent=2))
