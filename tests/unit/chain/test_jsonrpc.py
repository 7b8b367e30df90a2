"""The verifier's JSON-RPC transport against a node that is down, slow, redirecting, huge or not
a JSON-RPC node at all: each is a named error, none is believed or followed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from provenance.chain import jsonrpc
from provenance.chain.jsonrpc import JsonRpc, NodeError
from provenance.errors import ChainError, RpcUnavailable


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the timeout test) breaks the pipe: expected, not printed


class Node:
    """An HTTP server answering every POST with ``status``, ``headers`` and ``body``."""

    def __init__(self) -> None:
        self.status, self.body, self.delay = 200, b"{}", 0.0
        self.headers: dict[str, str] = {}
        self.requests: list[dict[str, object]] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                node.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                time.sleep(node.delay)
                self.send_response(node.status)
                for k, v in node.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(node.body)))
                self.end_headers()
                self.wfile.write(node.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node()
    yield n
    n.server.shutdown()
    n.server.server_close()


def answer(node: Node, body: object) -> None:
    node.body = json.dumps(body).encode()


def test_a_result_is_returned_and_the_request_is_json_rpc(node: Node) -> None:
    answer(node, {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"})
    assert JsonRpc(node.url).request("eth_chainId", []) == "0x7a69"
    assert node.requests == [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}]


def test_an_error_object_is_kept_whole(node: Node) -> None:
    error = {"code": 3, "message": "execution reverted", "data": "0xdeadbeef"}
    answer(node, {"jsonrpc": "2.0", "id": 1, "error": error})
    with pytest.raises(NodeError) as e:
        JsonRpc(node.url).request("eth_call", [])
    assert e.value.error == error


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b"\xff\xfe", b"[1, 2]", b'{"jsonrpc": "2.0", "id": 1}', b""],
    ids=["html", "not-utf8", "a-list", "no-result-nor-error", "empty"],
)
def test_an_answer_that_is_not_json_rpc_is_not_believed(node: Node, body: bytes) -> None:
    node.body = body
    with pytest.raises(ChainError) as e:
        JsonRpc(node.url).request("eth_chainId", [])
    assert e.value.code == "chain.bad-answer"
    assert "html" not in e.value.message  # what the node sent is not quoted


def test_an_answer_over_the_size_limit_is_not_read_whole(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonrpc, "MAX_ANSWER_BYTES", 1000)
    answer(node, {"jsonrpc": "2.0", "id": 1, "result": "0x" + "00" * 1000})
    with pytest.raises(ChainError) as e:
        JsonRpc(node.url).request("eth_getTransactionReceipt", [])
    assert (e.value.code, "more than 1000 bytes" in e.value.message) == ("chain.bad-answer", True)


@pytest.mark.parametrize("status", [500, 502, 404, 401])
def test_an_http_error_is_an_unreachable_node(node: Node, status: int) -> None:
    node.status = status
    with pytest.raises(RpcUnavailable) as e:
        JsonRpc(node.url).request("eth_chainId", [])
    assert e.value.message == f"JSON-RPC endpoint {node.url} answered HTTP {status}"


def test_a_redirect_is_not_followed(node: Node) -> None:
    elsewhere = Node()
    try:
        node.status, node.headers = 307, {"Location": elsewhere.url}
        with pytest.raises(RpcUnavailable) as e:
            JsonRpc(node.url).request("eth_chainId", [])
        assert "HTTP 307" in e.value.message
        assert elsewhere.requests == []
    finally:
        elsewhere.server.shutdown()
        elsewhere.server.server_close()


def test_a_node_that_does_not_answer_in_time_is_unreachable(node: Node) -> None:
    node.delay = 3.0
    started = time.monotonic()
    with pytest.raises(RpcUnavailable) as e:
        JsonRpc(node.url, timeout=0.5).request("eth_chainId", [])
    assert time.monotonic() - started < 2.0  # a hang is not retried
    assert "unreachable" in e.value.message


def test_a_refused_connection_is_retried_then_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slept: list[float] = []
    monkeypatch.setattr(jsonrpc.time, "sleep", slept.append)
    with pytest.raises(RpcUnavailable) as e:
        JsonRpc(f"http://127.0.0.1:{port}").request("eth_chainId", [])
    assert slept == list(jsonrpc.RETRIES)
    assert e.value.message == f"JSON-RPC endpoint http://127.0.0.1:{port} unreachable: ConnectionRefusedError"


@pytest.mark.parametrize("url", ["ftp://node:8545", "localhost:8545", "http://", "", "file:///etc/passwd"])
def test_a_url_that_names_no_http_endpoint_is_refused(url: str) -> None:
    with pytest.raises(ChainError) as e:
        JsonRpc(url)
    assert e.value.code == "chain.bad-url"
