"""Request bodies to files and documents, within the configured limits: raw or multipart uploads,
the ``Provenance-Manifest`` header, JSON documents."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
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


def json_document(text: str, what: str, code: str = "manifest.malformed") -> dict[str, Any]:
    value = loads(text)
    if not isinstance(value, dict):
        raise FormatError(f"the {what} must be a JSON object", code=code)
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


@dataclass(frozen=True)
class Upload:
    """An uploaded data file and the documents that came with it (as JSON text)."""

    path: Path
    fmt: str | None
    manifest: str | None = None
    transform: str | None = None


def decode_header(value: str, what: str, code: str) -> str:
    """A JSON document sent base64-encoded in a header."""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise FormatError(f"{what} must be the base64 of a JSON document", code=code) from None


async def save_multipart(request: Request, folder: Path, limit: int) -> Upload:
    """The ``file`` part saved under ``folder``, with the ``manifest`` and ``transform`` fields;
    the format is what the file's name implies."""
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
    manifest, transform = form.get("manifest"), form.get("transform")
    return Upload(
        path,
        fmt,
        manifest if isinstance(manifest, str) else None,
        transform if isinstance(transform, str) else None,
    )
