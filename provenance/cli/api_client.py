"""Reading a running ledger's HTTP API from the CLI (stdlib only: the verifier install has no
HTTP client library). A problem answer becomes the error it names."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from provenance.errors import InputError, NotFoundError, ServiceUnavailable

TIMEOUT = 60


def get_json(url: str, token: str | None = None) -> Any:
    with _open(url, token) as response:
        return json.load(response)


def get_lines(url: str, token: str | None = None) -> Iterator[bytes]:
    """The lines of a streamed answer (JSON Lines), read as they arrive."""
    with _open(url, token) as response:
        for line in response:
            yield line.rstrip(b"\n")


def post_json(url: str, body: Any, token: str | None = None) -> Any:
    with _open(url, token, json.dumps(body).encode()) as response:
        return json.load(response)


def _open(url: str, token: str | None, data: bytes | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - the user's own URL
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310
    except urllib.error.HTTPError as e:
        try:
            problem = json.loads(e.read() or b"{}")
        except ValueError:
            problem = {}
        error = NotFoundError if e.code == 404 else InputError
        raise error(problem.get("detail", str(e)), code=problem.get("code", f"http.{e.code}")) from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise ServiceUnavailable(f"cannot reach {url}: {getattr(e, 'reason', e)}") from None
