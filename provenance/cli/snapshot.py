"""``provenance snapshot``: build a snapshot from a data file, sign its manifest."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from provenance import strict_json
from provenance.cli.common import err, errors_to_exit, out, password, settings
from provenance.config import Settings
from provenance.datasets import check_new_dataset_name
from provenance.errors import InputError
from provenance.folder import SnapshotFolder, StagedFolder
from provenance.ingest import Ingested, Limits, Upstream, ingest_file
from provenance.lineage import Parent, check_transform, parse_parent_spec, transform_of_file
from provenance.manifest import Domain, Manifest, sign
from provenance.quality.rules import parse_rules
from provenance.records.schema import Schema

if TYPE_CHECKING:
    pass


app = typer.Typer(help="Build and sign dataset snapshots.", no_args_is_help=True)
PROGRESS_MIN_BYTES = 5 << 20  # about 100k records of typical width


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _types(texts: list[str]) -> dict[str, str]:
    """``--types`` may be given several times (it kept only the last) and lists several each."""
    out: dict[str, str] = {}
    for item in (i for text in texts for i in _split(text)):
        name, sep, kind = item.partition("=")
        if not sep:
            raise InputError(f"--types item {item!r} must be column=type", code="input.bad-option")
        out[name] = kind
    return out


def _salt_secret(path: Path) -> bytes:
    """Read the dataset's salt secret, creating it (32 random bytes, mode 0600) on first use."""
    from provenance.keys import write_private

    if not path.exists():
        write_private(path, secrets.token_hex(32).encode() + b"\n")
        err.print(f"created salt secret {path}; keep it to build later versions with the same salts")
    return read_salt_secret(path)


def read_salt_secret(path: Path) -> bytes:
    """A salt secret file: hex, at least 16 bytes."""
    text = path.read_text().strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise InputError(f"{path} must hold a hex salt secret", code="input.bad-salt-secret") from None
    if len(secret) < 16:
        raise InputError(f"{path}: salt secret must be at least 16 bytes", code="input.bad-salt-secret")
    return secret


@app.command("build")
def build_cmd(
    file: Annotated[Path, typer.Argument(help="CSV, JSON Lines or Parquet file")],
    dataset: Annotated[str, typer.Option(help="Dataset name, e.g. tm/ratings/daily")],
    key: Annotated[str, typer.Option(help="Key column(s), comma-separated")],
    out_dir: Annotated[Path, typer.Option("--out", help="New directory for the snapshot")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet")] = None,
    version: Annotated[int, typer.Option(help="Dataset version (starts at 1)")] = 1,
    types: Annotated[
        list[str] | None, typer.Option(help="Column types: col=integer,... (repeatable)")
    ] = None,
    salt_secret: Annotated[Path | None, typer.Option(help="Salt records with this secret file")] = None,
    parent: Annotated[list[str] | None, typer.Option(help="Upstream snapshot name@version:0xroot")] = None,
    parent_dir: Annotated[
        list[Path] | None, typer.Option(help="Upstream snapshot directory (its records pin the refs)")
    ] = None,
    derived_from: Annotated[
        str | None, typer.Option(help="Field/column holding each record's refs [{dataset, version, key}]")
    ] = None,
    transform: Annotated[Path | None, typer.Option(help="JSON file {name, code, params}")] = None,
    transform_file: Annotated[
        Path | None, typer.Option(help="The program that made FILE (its SHA-256 is the transform code)")
    ] = None,
    transform_name: Annotated[str, typer.Option(help="Name of the transform (with --transform-file)")] = "",
    transform_params: Annotated[str, typer.Option(help="JSON object of its parameters")] = "{}",
    created_at: Annotated[int | None, typer.Option(help="Unix time (default: now)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: cores)")] = None,
    rules: Annotated[
        Path | None, typer.Option(help="JSON file: a list of data-quality rules (docs/ARCHITECTURE.md)")
    ] = None,
) -> None:
    """Canonicalise FILE, build its Merkle tree and write the snapshot to --out. The last line
    printed is the root as 64 hex characters."""
    with errors_to_exit():
        cfg = settings()
        check_new_dataset_name(dataset)
        schema = _schema(key, types or [], salt_secret is not None, derived_from, rules)
        created_at = created_at or int(time.time())  # fixed before the rules judge freshness at it
        secret = _salt_secret(salt_secret) if salt_secret is not None else None
        folders = [SnapshotFolder(d) for d in parent_dir or []]
        parents = tuple(parse_parent_spec(p) for p in parent or []) + tuple(_parent_of(f) for f in folders)
        upstream = {(f.manifest().dataset, f.manifest().version): f.keyed_leaves() for f in folders}
        transform_obj = _transform(transform, transform_file, transform_name, transform_params)
        staged = StagedFolder(out_dir)
        try:
            built = _build(
                file, schema, staged, fmt, secret, workers or cfg.ingest_workers, cfg, upstream, created_at
            )
            manifest = _manifest(dataset, version, built, schema, created_at, parents, transform_obj)
            snap = staged.commit(manifest, built.tree, built.quality.to_json() if built.quality else None)
        except BaseException:
            staged.abort()
            raise
        out.print(f"snapshot {dataset} v{version}: {built.size} records → {snap.path}")
        out.print(built.root.hex())


def _build(
    file: Path,
    schema: Schema,
    staged: StagedFolder,
    fmt: str | None,
    secret: bytes | None,
    workers: int | None,
    cfg: Settings,
    upstream: Upstream,
    as_of: int,
) -> Ingested:
    limits = Limits(cfg.max_records, cfg.max_record_bytes, cfg.max_refs_per_record)
    lineage = upstream if schema.derived_from is not None else None
    try:
        big = file.stat().st_size >= PROGRESS_MIN_BYTES
    except OSError:
        big = False
    if not (big and err.is_terminal):
        return ingest_file(
            file,
            schema,
            staged.sink,
            fmt=fmt,
            salt_secret=secret,
            workers=workers,
            limits=limits,
            upstream=lineage,
            as_of=as_of,
        )
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None)
        return ingest_file(
            file,
            schema,
            staged.sink,
            fmt=fmt,
            salt_secret=secret,
            workers=workers,
            limits=limits,
            progress=lambda n: bar.update(task, completed=n),
            upstream=lineage,
            as_of=as_of,
        )


def _manifest(
    dataset: str,
    version: int,
    built: Ingested,
    schema: Schema,
    created_at: int,
    parents: tuple[Parent, ...],
    transform: dict[str, Any] | None,
) -> Manifest:
    quality = built.quality.summary() if built.quality is not None else None
    return Manifest(dataset, version, built.root, built.size, schema, created_at, parents, transform, quality)


def _schema(key: str, types: list[str], salted: bool, derived_from: str | None, rules: Path | None) -> Schema:
    parsed = parse_rules(_json_file(rules), derived_from=derived_from) if rules is not None else ()
    return Schema(tuple(_split(key)), _types(types), salted, derived_from, parsed).normal()


def _json_file(path: Path) -> Any:
    try:
        return strict_json.loads(path.read_bytes())
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}", code="input.unreadable") from None


def _parent_of(folder: SnapshotFolder) -> Parent:
    m = folder.manifest()
    return Parent(m.dataset_id, m.version, m.root, m.dataset)


def _transform(doc: Path | None, program: Path | None, name: str, params: str) -> dict[str, Any] | None:
    """From a JSON file, or computed from the program file (its SHA-256 pins the code)."""
    if doc is not None and program is not None:
        raise InputError("give --transform or --transform-file, not both", code="input.bad-option")
    if doc is not None:
        return check_transform(json.loads(doc.read_text()))
    if program is None:
        return None
    parsed = json.loads(params)
    if not (name and isinstance(parsed, dict)):
        raise InputError(
            "--transform-file needs --transform-name and --transform-params as a JSON object",
            code="input.bad-option",
        )
    return transform_of_file(name, program, parsed)


@app.command("sign")
def sign_cmd(
    directory: Annotated[Path, typer.Argument(help="Snapshot directory from `snapshot build`")],
    source_key: Annotated[Path, typer.Option(help="eth keystore v3 file of the dataset's source")],
    chain_id: Annotated[int | None, typer.Option(help="EIP-712 domain chain id")] = None,
    registry: Annotated[str | None, typer.Option(help="EIP-712 domain: ProvenanceRegistry address")] = None,
) -> None:
    """Sign the snapshot's manifest (EIP-712) with a source key."""
    from provenance.keys import load_source_key

    with errors_to_exit():
        cfg = settings()
        snap = SnapshotFolder(directory)
        manifest = snap.manifest()
        domain = Domain(chain_id or cfg.chain_id, registry or cfg.registry)
        key = load_source_key(source_key, password(cfg))
        signed = sign(manifest, domain, key)
        snap.write_signed(signed)
        out.print(
            f"signed by {signed.signer} for chain {domain.chain_id}, registry {domain.verifying_contract}"
        )
        out.print("0x" + manifest.digest(domain).hex())
