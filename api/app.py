"""FastAPI app factory: routes are thin; the ledger does the work, ``errors`` maps its codes."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.metrics import Metrics
from provenance.config import DEV_ADMIN_TOKEN
from provenance.errors import FormatError, InputError, LimitExceeded, NotFoundError, ProvenanceError
from provenance.records.schema import Schema
from provenance.server.bootstrap import Service
from provenance.server.store import outbox, sources
from provenance.server.store.models import AnchorRow, LogEntryRow


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=128)
    key: list[str] = Field(min_length=1, max_length=16)
    columns: dict[str, str] = Field(default_factory=dict)
    salted: bool = False
    anchorMode: Literal["checkpoint", "direct"] = "checkpoint"  # noqa: N815 - JSON field name
    signingKey: str | None = Field(default=None, max_length=64)  # noqa: N815 - server keystore name


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    name: str = Field(max_length=128)


def create_app(service: Service) -> FastAPI:
    settings = service.settings
    ledger = service.ledger
    metrics = Metrics()
    admin_token = settings.secret(settings.admin_token, "PROVENANCE_ADMIN_TOKEN", DEV_ADMIN_TOKEN)
    app = FastAPI(title="Provenance ledger", version="1", docs_url="/docs", openapi_url="/openapi.json")
    app.state.service = service
    app.state.metrics = metrics
    errors.install(app)

    app.add_middleware(LimitsAndMetrics, max_body=settings.max_upload_bytes, metrics=metrics)

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization is None or not authorization.startswith("Bearer "):
            raise ProvenanceError(
                "an admin token is required (Authorization: Bearer ...)", code="auth.required"
            )
        if not hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), admin_token.encode()):
            raise ProvenanceError("the admin token is not valid", code="auth.forbidden")

    admin = Depends(require_admin)

    # --- health ------------------------------------------------------------------------------

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            with ledger.db.session() as s:
                s.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except ProvenanceError as e:
            checks["database"] = e.message
        try:
            checks["chain"] = f"ok, block {service.client.block_number()}"
        except ProvenanceError as e:
            checks["chain"] = f"unreachable: {e.message}"  # proofs still work; anchors wait
        ready = checks["database"] == "ok"
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics")
    def prometheus() -> Response:
        with ledger.db.session() as s:
            for state, count in s.execute(select(AnchorRow.state, func.count()).group_by(AnchorRow.state)):
                metrics.anchors.labels(state).set(count)
            metrics.log_size.set(s.scalar(select(func.count()).select_from(LogEntryRow)) or 0)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # --- datasets and snapshots ----------------------------------------------------------------

    @app.get("/v1/datasets")
    def list_datasets() -> list[dict[str, Any]]:
        return [_dataset_json(d) for d in ledger.datasets()]

    @app.post("/v1/datasets", status_code=201, dependencies=[admin])
    def create_dataset(body: DatasetIn) -> dict[str, Any]:
        schema = Schema(tuple(body.key), body.columns, body.salted)
        salt = secrets.token_bytes(32) if body.salted else None
        return _dataset_json(
            ledger.create_dataset(
                body.name, schema, anchor_mode=body.anchorMode, signing_key=body.signingKey, salt_secret=salt
            )
        )

    @app.get("/v1/datasets/{name:path}/versions/{version}/proof")
    async def proof(name: str, version: int, key: Annotated[str, Query(max_length=4096)]) -> JSONResponse:
        # Run on the event loop: a proof is ~1 ms of local reads (caches, SQLite point lookups),
        # less than the thread-pool handoff FastAPI would add for a sync endpoint.
        body = ledger.proof(name, version, ledger.parse_key(name, key))
        metrics.proofs.inc()
        return ORJSONResponse(body)

    @app.get("/v1/datasets/{name:path}/versions/{version}")
    def get_version(name: str, version: int) -> dict[str, Any]:
        info = ledger.snapshot(name, version)
        with ledger.db.session() as s:
            row = outbox.for_snapshot(s, info.pk)
        return {
            "dataset": name,
            "version": version,
            "size": info.size,
            "root": "0x" + info.root.hex(),
            "digest": "0x" + info.digest.hex(),
            "signer": info.signer,
            "logIndex": info.log_index,
            "createdAt": info.created_at.isoformat(),
            "manifest": json.loads(info.signed_manifest),
            "directAnchor": None if row is None else _anchor_json(row),
        }

    @app.get("/v1/datasets/{name:path}/versions")
    def list_versions(name: str) -> list[dict[str, Any]]:
        with ledger.db.session() as s:
            ds = ledger.snapshots.require_dataset(s, name)
            rows = ledger.snapshots.versions(s, ds.id)
        return [
            {
                "version": r.version,
                "size": r.size,
                "root": "0x" + bytes(r.root or b"").hex(),
                "signer": r.signer,
                "createdAt": r.created_at.isoformat(),
            }
            for r in rows
        ]

    @app.get("/v1/datasets/{name:path}/consistency")
    def consistency(
        name: str, from_: Annotated[int, Query(alias="from", ge=1)], to: Annotated[int, Query(ge=1)]
    ) -> dict[str, Any]:
        return ledger.consistency(name, from_, to)

    @app.post("/v1/datasets/{name:path}/versions")
    async def ingest(
        name: str,
        request: Request,
        response: Response,
        version: Annotated[int | None, Query(ge=1)] = None,
        fmt_param: Annotated[Literal["csv", "jsonl", "parquet"] | None, Query(alias="format")] = None,
        provenance_manifest: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """Upload a data file as the raw body (CSV, JSON Lines or Parquet) or as multipart field
        ``file`` (with an optional ``manifest`` field). A source-signed manifest (header
        ``Provenance-Manifest``: base64 of its JSON, or the multipart field) authenticates the
        upload; without one the server signs, which needs the admin token."""
        content_type = request.headers.get("content-type", "")
        upload_dir = settings.data_dir / "uploads"
        upload_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=upload_dir) as tmp:
            if content_type.startswith("multipart/form-data"):
                path, manifest_text, named = await _save_multipart(
                    request, Path(tmp), settings.max_upload_bytes
                )
                fmt = fmt_param or named
            else:
                path = Path(tmp) / "upload"
                await _save_body(request, path, settings.max_upload_bytes)
                manifest_text = _decode_header(provenance_manifest) if provenance_manifest else None
                fmt = fmt_param or _format_of(content_type)
            signed = _json_document(manifest_text, "manifest") if manifest_text else None
            if signed is None:
                require_admin(authorization)
            if fmt is None:
                raise InputError(
                    "say the format: ?format=csv|jsonl|parquet or a Content-Type", code="input.unknown-format"
                )
            result = await run_in_threadpool(
                ledger.ingest, name, path, version=version, fmt=fmt, signed_manifest=signed
            )
        metrics.records.inc(result.snapshot.size if result.created else 0)
        response.status_code = 201 if result.created else 200
        info = result.snapshot
        return {
            "dataset": name,
            "version": info.version,
            "size": info.size,
            "root": "0x" + info.root.hex(),
            "digest": "0x" + info.digest.hex(),
            "signer": info.signer,
            "logIndex": info.log_index,
            "created": result.created,
        }

    @app.get("/v1/datasets/{name:path}")
    def get_dataset(name: str) -> dict[str, Any]:
        return _dataset_json(ledger.dataset(name))

    # --- verification --------------------------------------------------------------------------

    @app.post("/v1/verify")
    async def verify(request: Request, offline: bool = False) -> dict[str, Any]:
        data = await _read_limited(request, settings.max_bundle_bytes)
        client = request.client.host if request.client else None
        verdict = await run_in_threadpool(
            ledger.verify, data, chain=service.verifier, offline=offline, client=client
        )
        metrics.verifications.labels(verdict["status"]).inc()
        return verdict

    # --- sources, anchors, checkpoints --------------------------------------------------------------

    @app.get("/v1/sources")
    def list_sources() -> list[dict[str, Any]]:
        with ledger.db.session() as s:
            return [
                {"address": r.address, "name": r.name, "status": r.status, "chainState": r.chain_state}
                for r in sources.listing(s)
            ]

    @app.post("/v1/sources", status_code=201, dependencies=[admin])
    def register_source(body: SourceIn) -> dict[str, Any]:
        with ledger.db.session() as s:
            r = sources.register(s, body.address, body.name)
            return {"address": r.address, "name": r.name, "status": r.status, "chainState": r.chain_state}

    @app.delete("/v1/sources/{address}", dependencies=[admin])
    def revoke_source(address: str) -> dict[str, Any]:
        if not (address.startswith("0x") and len(address) == 42):
            raise InputError("address must be 0x and 40 hex digits", code="input.bad-address")
        with ledger.db.session() as s:
            r = sources.revoke(s, address)
            return {"address": r.address, "name": r.name, "status": r.status, "chainState": r.chain_state}

    @app.get("/v1/anchors")
    def list_anchors(
        state: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[Any]:
        with ledger.db.session() as s:
            return [_anchor_json(r) for r in outbox.listing(s, state, limit)]

    @app.get("/v1/checkpoints")
    def list_checkpoints(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
        with ledger.db.session() as s:
            rows = ledger.log.checkpoints(s, limit)
            anchors = {r.id: outbox.for_checkpoint(s, r.id) for r in rows}
        return [
            {
                "size": r.size,
                "root": "0x" + bytes(r.root).hex(),
                "note": r.note,
                "createdAt": r.created_at.isoformat(),
                "anchor": None if anchors[r.id] is None else _anchor_json(anchors[r.id]),
            }
            for r in rows
        ]

    @app.get("/v1/checkpoints/latest")
    def latest_checkpoint() -> dict[str, Any]:
        with ledger.db.session() as s:
            row = ledger.log.latest_checkpoint(s)
        if row is None:
            raise NotFoundError("no checkpoint yet", code="checkpoint.not-found")
        return {
            "size": row.size,
            "root": "0x" + bytes(row.root).hex(),
            "note": row.note,
            "logKey": ledger.log_signer.verifier_key(),
        }

    @app.get("/v1/log/consistency")
    def log_consistency(
        from_: Annotated[int, Query(alias="from")], to: Annotated[int, Query()]
    ) -> dict[str, Any]:
        return ledger.log_consistency(from_, to)

    @app.get("/v1/deployment")
    def deployment() -> dict[str, Any]:
        return service.deployment.to_json()

    return app


class ORJSONResponse(JSONResponse):
    """JSON rendered by orjson (proof bundles are the hot path; the stdlib encoder is 5x slower)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class LimitsAndMetrics:
    """Refuses oversized bodies by Content-Length and records per-route metrics.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) costs
    ~1 ms per request, a third of a proof's whole budget."""

    def __init__(self, app: ASGIApp, max_body: int, metrics: Metrics) -> None:
        self.app, self.max_body, self.metrics = app, max_body, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_body):
                response = errors.problem(413, "request.too-large", f"body over {self.max_body} bytes")
                await response(scope, receive, send)
                return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)


def _dataset_json(d: Any) -> dict[str, Any]:
    return {
        "name": d.name,
        "datasetId": "0x" + bytes(d.dataset_id).hex(),
        "schema": json.loads(d.schema_json),
        "anchorMode": d.anchor_mode,
        "signedBy": "server" if d.signing_key else "source",
    }


def _anchor_json(r: AnchorRow | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "id": r.id,
        "kind": r.kind,
        "state": r.state,
        "chainId": r.chain_id,
        "contract": r.contract,
        "txHash": "0x" + bytes(r.tx_hash).hex() if r.tx_hash else None,
        "blockNumber": r.block_number,
        "blockHash": "0x" + bytes(r.block_hash).hex() if r.block_hash else None,
        "checkpointIndex": r.checkpoint_index,
        "confirmations": r.confirmations,
        "resubmissions": r.resubmissions,
        "lastError": r.last_error,
    }


def _format_of(content_type: str) -> str | None:
    base = content_type.split(";")[0].strip().lower()
    return {
        "text/csv": "csv",
        "application/x-ndjson": "jsonl",
        "application/jsonl": "jsonl",
        "application/vnd.apache.parquet": "parquet",
    }.get(base)


def _decode_header(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise FormatError(
            "Provenance-Manifest must be the base64 of the signed manifest JSON", code="manifest.malformed"
        ) from None


def _json_document(text: str, what: str) -> dict[str, Any]:
    from provenance.strict_json import loads

    value = loads(text)
    if not isinstance(value, dict):
        raise FormatError(f"the {what} must be a JSON object", code="manifest.malformed")
    return value


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise LimitExceeded(f"body over {limit} bytes", code="request.too-large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _save_body(request: Request, path: Path, limit: int) -> None:
    total = 0
    with path.open("wb") as f:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise LimitExceeded(f"upload over {limit} bytes", code="request.too-large")
            f.write(chunk)
    if total == 0:
        raise InputError("the upload is empty", code="input.empty")


async def _save_multipart(request: Request, folder: Path, limit: int) -> tuple[Path, str | None, str | None]:
    form = await request.form(max_files=1, max_fields=4, max_part_size=1 << 20)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("multipart upload needs a 'file' part", code="input.no-file")
    filename = upload.filename or "upload"
    fmt = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}.get(
        Path(filename).suffix.lower()
    )
    path = folder / "upload"
    total = 0
    with path.open("wb") as f:
        while chunk := await upload.read(1 << 20):
            total += len(chunk)
            if total > limit:
                raise LimitExceeded(f"upload over {limit} bytes", code="request.too-large")
            f.write(chunk)
    manifest = form.get("manifest")
    return path, manifest if isinstance(manifest, str) else None, fmt
