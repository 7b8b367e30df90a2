"""A JSON-RPC node that lies: a proxy in front of a real anvil that rewrites chosen answers.

A lying or hanging node cannot be produced any other way; everything it does not rewrite is the
real node's answer. ``rewrite(method, params, result)`` returns the answer to give instead, and
``hang`` makes every request wait that many seconds before it is answered.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Rewrite = Callable[[str, list[Any], Any], Any]


class LyingNode:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rewrite: Rewrite | None = None
        self.raw: bytes | None = None  # an answer that is not JSON-RPC at all
        self.hang = 0.0
        self.status = 200  # an HTTP error in front of the node (a proxy's 502)
        self.reader = "web3"  # which of the verifier's chain readers the test reads through
        self.seen: list[str] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = node.answer(body)
                if node.hang:
                    time.sleep(node.hang)
                self.send_response(node.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, body: bytes) -> bytes:
        request = json.loads(body)
        self.seen.append(request["method"])
        if self.raw is not None:
            return self.raw
        reply = httpx.post(self.upstream, content=body, headers={"Content-Type": "application/json"}).json()
        if self.rewrite is not None and "result" in reply:
            reply["result"] = self.rewrite(request["method"], request.get("params", []), reply["result"])
        return json.dumps(reply).encode()


@contextmanager
def lying_node(upstream: str) -> Iterator[LyingNode]:
    node = LyingNode(upstream)
    thread = threading.Thread(target=node.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield node
    finally:
        node.hang = 0
        node.server.shutdown()
        node.server.server_close()
