"""JSON-RPC 2.0 over HTTP with the standard library: the transport of a verifier's chain reads.

Why not web3's HTTPProvider here: a verifier makes a dozen reads, and importing web3 costs
1.3-1.8 s of CPU, which on a 2-core machine is taken from the processes hashing the file it
verifies (BENCHMARKS.md, "Published proofs"). The node is not trusted: its answer is read
with a size limit, never followed to another address, and never quoted back to the user.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from provenance.errors import ChainError, RpcUnavailable

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a receipt with every log of a full block is well under this
RETRIES = (0.125, 0.25, 0.5)  # a refused connection (a node restarting) is retried; a hang never is

Request = Callable[[str, list[Any]], Any]


class NodeError(Exception):
    """The node answered a JSON-RPC error object (kept whole: a revert's data is in it)."""

    def __init__(self, error: Any) -> None:
        self.error = error
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(str(message) if message else json.dumps(error)[:200])


def bad_answer(kind: str) -> ChainError:
    """What a broken or lying node sent; its text is not quoted (it could be anything)."""
    return ChainError(
        f"the JSON-RPC node's answer is not well-formed ({kind}): the node is not believed",
        code="chain.bad-answer",
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a JSON-RPC endpoint has no reason to send the reads to another address


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_url(url: str) -> str:
    """``url`` if it can name a JSON-RPC endpoint (http or https, with a host).

    Raises:
        ChainError: ``chain.bad-url``.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChainError(f"bad RPC URL {url!r}: not an http(s) URL with a host", code="chain.bad-url")
    return url


class JsonRpc:
    """One endpoint; ``request(method, params)`` returns the answer's ``result``.

    Raises (from ``request``):
        RpcUnavailable: the endpoint cannot be reached, does not answer in time, or answers an
            HTTP error.
        ChainError: ``chain.bad-answer``, an answer that is not a JSON-RPC response.
        NodeError: the node answered a JSON-RPC error.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = check_url(url)
        self.timeout = timeout
        self._id = 0

    def request(self, method: str, params: list[Any]) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        raw = self._post(body.encode())
        try:
            answer = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise bad_answer("JSONDecodeError") from None
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise bad_answer("not a JSON-RPC response")
        if answer.get("error") is not None:
            raise NodeError(answer["error"])
        return answer.get("result")

    def _post(self, body: bytes) -> bytes:
        for delay in (*RETRIES, None):
            try:
                return self._once(body)
            except ConnectionRefusedError:
                if delay is None:
                    break
                time.sleep(delay)
        raise RpcUnavailable(f"JSON-RPC endpoint {self.url} unreachable: ConnectionRefusedError")

    def _once(self, body: bytes) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - check_url admitted http(s) only
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                raw: bytes = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as e:
            raise RpcUnavailable(f"JSON-RPC endpoint {self.url} answered HTTP {e.code}") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, ConnectionRefusedError):
                raise e.reason from None
            raise RpcUnavailable(f"JSON-RPC endpoint {self.url} unreachable: {_kind(e.reason)}") from None
        except OSError as e:  # a timeout or a reset connection
            raise RpcUnavailable(f"JSON-RPC endpoint {self.url} unreachable: {_kind(e)}") from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise bad_answer(f"more than {MAX_ANSWER_BYTES} bytes")
        return raw


def _kind(reason: object) -> str:
    return type(reason).__name__ if isinstance(reason, BaseException) else "URLError"
