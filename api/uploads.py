"""Request bodies to files and documents, within the configured limits: raw or multipart uploads,
the ``Provenance-Manifest`` header, JSON documents."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from fastapi import Request

from provenance.errors import FormatError, InputError, LimitExceeded
from provenance.strict_json import loads

FORMAT_BY_CONTENT_TYPE = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/vnd.apache.parquet": "parquet",
}
FORMAT_BY_SUFFIX = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def format_of(content_type: str) -> str | None:
    return FORMAT_BY_CONTENT_TYPE.get(content_type.split(";")[0].strip().lower())


def decode_manifest_header(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise FormatError(
            "Provenance-Manifest must be the base64 of the signed manifest JSON", code="manifest.malformed"
        ) from None


def json_document(text: str, what: str) -> dict[str, Any]:
    value = loads(text)
    if not isinstance(value, dict):
        raise FormatError(f"the {what} must be a JSON object", code="manifest.malformed")
    return value


async def read_limited(request: Request, limit: int) -> bytes:
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise LimitExceeded(f"body over {limit} bytes", code="request.too-large")
        chunks.append(chunk)
    return b"".join(chunks)


async def save_body(request: Request, path: Path, limit: int) -> None:
    total = 0
    with path.open("wb") as f:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise LimitExceeded(f"upload over {limit} bytes", code="request.too-large")
            f.write(chunk)
    if total == 0:
        raise InputError("the upload is empty", code="input.empty")


async def save_multipart(request: Request, folder: Path, limit: int) -> tuple[Path, str | None, str | None]:
    """The ``file`` part saved under ``folder``; the ``manifest`` field; the format its name implies."""
    form = await request.form(max_files=1, max_fields=4, max_part_size=1 << 20)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("multipart upload needs a 'file' part", code="input.no-file")
    fmt = FORMAT_BY_SUFFIX.get(Path(upload.filename or "upload").suffix.lower())
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
