"""Datasets, their versions (upload and read), record proofs and version consistency."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api import uploads, views
from api.auth import Admin, check_admin
from api.deps import FromSize, LedgerDep, MetricsDep, SettingsDep, ToSize, Version
from provenance.errors import InputError, disk_space
from provenance.lineage import parse_parent_names
from provenance.quality.rules import parse_rules
from provenance.records.schema import Schema

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as documented: no 0 for false
    name: str = Field(max_length=128)
    key: list[str] = Field(min_length=1, max_length=16)
    columns: dict[str, str] = Field(default_factory=dict)
    salted: bool = False
    anchorMode: Literal["checkpoint", "direct"] = "checkpoint"  # noqa: N815 - JSON field name
    signingKey: str | None = Field(default=None, max_length=64)  # noqa: N815 - server keystore name
    derivedFrom: str | None = Field(default=None, max_length=128)  # noqa: N815 - the refs field
    # Data-quality rules (provenance/quality/rules.py), checked by the schema itself.
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=64)


@router.get("")
def list_datasets(ledger: LedgerDep) -> list[dict[str, Any]]:
    return [views.dataset_json(d) for d in ledger.datasets()]


@router.post("", status_code=201, dependencies=[Admin])
def create_dataset(body: DatasetIn, ledger: LedgerDep) -> dict[str, Any]:
    schema = Schema(
        tuple(body.key),
        body.columns,
        body.salted,
        body.derivedFrom,
        parse_rules(body.rules, derived_from=body.derivedFrom) if body.rules else (),
    )
    salt = secrets.token_bytes(32) if body.salted else None
    row = ledger.create_dataset(
        body.name, schema, anchor_mode=body.anchorMode, signing_key=body.signingKey, salt_secret=salt
    )
    return views.dataset_json(row)


@router.get("/{name:path}/versions/{version}/proof")
async def proof(
    name: str,
    version: Version,
    key: Annotated[str, Query(max_length=4096)],
    ledger: LedgerDep,
    metrics: MetricsDep,
) -> JSONResponse:
    # Run on the event loop: a proof is ~1 ms of local reads (caches, SQLite point lookups),
    # less than the thread-pool handoff FastAPI would add for a sync endpoint.
    body = ledger.proof(name, version, ledger.parse_key(name, key))
    metrics.proofs.inc()
    return views.ORJSONResponse(body)


@router.get("/{name:path}/versions/{version}/lineage/records")
async def record_lineage(
    name: str,
    version: Version,
    key: Annotated[str, Query(max_length=4096)],
    ledger: LedgerDep,
    depth: Annotated[int, Query(ge=1)] = 1,
    fmt: Annotated[Literal["proofs", "prov", "openlineage"], Query(alias="format")] = "proofs",
    direction: Literal["up", "down"] = "up",
) -> JSONResponse:
    """The datum and every upstream record its refs reach to ``depth`` steps, with their proofs:
    one ``provenance-proofs/v1`` collection (each snapshot's section once; the datum is record 0);
    ``direction=down``: the records that cite the datum instead (and those citing them, to
    ``depth``); or the same lineage as W3C PROV-JSON (``format=prov``) or OpenLineage run events."""
    # On the event loop, like a proof: a few ms of cached, local reads; a thread per request
    # made eight concurrent lineages fight for the GIL (74 requests/s at 8 connections, 129 at 4).
    doc = ledger.record_lineage(name, version, key, depth=depth, direction=direction)
    if fmt == "prov":
        from provenance.exports.prov import to_prov

        return views.ORJSONResponse(to_prov(doc))
    if fmt == "openlineage":
        from provenance.exports.openlineage import to_openlineage

        return views.ORJSONResponse(to_openlineage(doc))
    return views.ORJSONResponse(doc)


@router.get("/{name:path}/versions/{version}/lineage")
def snapshot_lineage(
    name: str,
    version: Version,
    ledger: LedgerDep,
    direction: Literal["up", "down"] = "up",
    depth: Annotated[int, Query(ge=1)] = 1,
) -> dict[str, Any]:
    """Parents (``up``: what this version was computed from) or children (``down``: which
    published versions used it) to ``depth`` steps; ``truncated`` when the node limit cut it."""
    return ledger.snapshot_lineage(name, version, direction=direction, depth=depth)


@router.get("/{name:path}/versions/{version}/snapshot-proof")
def snapshot_proof(name: str, version: Version, ledger: LedgerDep) -> JSONResponse:
    """``provenance-snapshot-proof/v1``: signed manifest, log inclusion, checkpoint and anchor —
    what a holder of the data file checks it against (``provenance check``)."""
    return views.ORJSONResponse(ledger.snapshot_proof(name, version))


@router.get("/{name:path}/versions/{version}/quality")
def quality_report(name: str, version: Version, ledger: LedgerDep) -> JSONResponse:
    """``provenance-quality/v1``: what the schema's rules found in this version. Its SHA-256 over
    RFC 8785 is the ``report`` digest in the signed manifest's ``quality``; ``provenance check``
    recomputes it from the data file."""
    return views.ORJSONResponse(ledger.prover.quality_report(name, version))


@router.get("/{name:path}/versions/{version}/records")
def records(
    name: str,
    version: Version,
    request: Request,
    ledger: LedgerDep,
    with_proofs: bool = False,
    authorization: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The version's records, streamed in leaf order: each line the RFC 8785 leaf input (hash
    each with a 0x00 prefix and the signed root follows), or with ``with_proofs=true`` a JSON
    Lines ``provenance-proofs/v1`` collection (header line with the snapshot proof, then every
    record with its inclusion path). A salted dataset's records, salts included, need the
    admin token: the salts are what keep unpublished records from being guessed."""
    if ledger.is_salted(name):
        check_admin(request, authorization)
    lines = ledger.records(name, version, with_proofs=with_proofs)
    return StreamingResponse(lines, media_type="application/jsonl")


@router.get("/{name:path}/versions/{version}")
def get_version(name: str, version: Version, ledger: LedgerDep) -> dict[str, Any]:
    info = ledger.snapshot(name, version)
    return views.version_json(info, ledger.direct_anchor_of(info))


@router.get("/{name:path}/versions")
def list_versions(name: str, ledger: LedgerDep) -> list[dict[str, Any]]:
    return [views.version_row_json(r) for r in ledger.versions(name)]


@router.get("/{name:path}/consistency")
def consistency(
    name: str,
    from_: FromSize,
    to: ToSize,
    ledger: LedgerDep,
) -> dict[str, Any]:
    return ledger.consistency(name, from_, to)


@router.post("/{name:path}/versions")
async def ingest(
    name: str,
    request: Request,
    response: Response,
    ledger: LedgerDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    fmt_param: Annotated[Literal["csv", "jsonl", "parquet"] | None, Query(alias="format")] = None,
    parents: Annotated[str | None, Query(max_length=4096, description="name@version,...")] = None,
    provenance_manifest: Annotated[str | None, Header()] = None,
    provenance_transform: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Upload a data file as the raw body (CSV, JSON Lines or Parquet) or as multipart field
    ``file`` (with optional ``manifest`` and ``transform`` fields). A source-signed manifest
    (header ``Provenance-Manifest``: base64 of its JSON, or the multipart field) authenticates the
    upload; without one the server signs, which needs the admin token. A derived snapshot names
    its ``parents`` (``name@version,...``; their roots come from this ledger) and its transform
    (header ``Provenance-Transform``: base64 of ``{name, code, params}``, or the multipart field)."""
    with disk_space("the upload"), tempfile.TemporaryDirectory(dir=ledger.upload_folder()) as tmp:
        upload = await _receive(request, Path(tmp), settings.max_upload_bytes)
        manifest_text = upload.manifest or (
            uploads.decode_header(provenance_manifest, "Provenance-Manifest", "manifest.malformed")
            if provenance_manifest
            else None
        )
        transform_text = upload.transform or (
            uploads.decode_header(provenance_transform, "Provenance-Transform", "input.bad-transform")
            if provenance_transform
            else None
        )
        signed = uploads.json_document(manifest_text, "manifest") if manifest_text else None
        if signed is None:
            check_admin(request, authorization)
        fmt = fmt_param or upload.fmt
        if fmt is None:
            raise InputError(
                "say the format: ?format=csv|jsonl|parquet or a Content-Type", code="input.unknown-format"
            )
        result = await run_in_threadpool(
            ledger.ingest,
            name,
            upload.path,
            version=version,
            fmt=fmt,
            signed_manifest=signed,
            parents=parse_parent_names(parents) if parents else (),
            transform=uploads.json_document(transform_text, "transform", "input.bad-transform")
            if transform_text
            else None,
        )
    metrics.records.inc(result.snapshot.size if result.created else 0)
    response.status_code = 201 if result.created else 200
    return views.ingest_json(result)


async def _receive(request: Request, folder: Path, limit: int) -> uploads.Upload:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await uploads.save_multipart(request, folder, limit)
    path = folder / "upload"
    await uploads.save_body(request, path, limit)
    return uploads.Upload(path, uploads.format_of(content_type))


@router.get("/{name:path}")
def get_dataset(name: str, ledger: LedgerDep) -> dict[str, Any]:
    return views.dataset_json(ledger.dataset(name))
