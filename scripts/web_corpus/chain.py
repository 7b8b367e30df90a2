"""Chain cases of the differential corpus: an anchored bundle, the JSON-RPC answers of a node
(canned: what anvil would answer for each method and registry function), and the verdict of the
Python verifier reading them through web3 (provenance.chain.verifier.ChainVerifier). The JS
chain reader gets the same answers through its fetch, and must reach the same verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import requests
from eth_utils import keccak
from web3 import Web3
from web3.providers.base import BaseProvider

from provenance.chain.verifier import ChainVerifier
from provenance.chain.web3_reads import Web3Reads
from provenance.errors import ProvenanceError
from provenance.manifest import Manifest
from provenance.proofs import bundle
from provenance.proofs.verify import Policy, verify_bundle

Answers = dict[str, Any]
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TX = "0x" + "ab" * 32
BLOCK = "0x" + "cd" * 32


def selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


def topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


def word(value: int | str | bytes) -> str:
    if isinstance(value, bytes):
        return value.hex().rjust(64, "0")
    if isinstance(value, str):  # an address or a 0x hash
        return value[2:].lower().rjust(64, "0")
    return f"{value:064x}"


def call(signature: str, *words: int | str | bytes) -> tuple[str, dict[str, Any]]:
    return f"eth_call:{selector(signature)}", {"result": "0x" + "".join(word(w) for w in words)}


def revert(signature: str, data: str | None = None, **error: Any) -> tuple[str, dict[str, Any]]:
    body = {"code": 3, "message": "execution reverted", **error}
    if data is not None:
        body["data"] = data
    return f"eth_call:{selector(signature)}", {"error": body}


class CannedProvider(BaseProvider):
    """A JSON-RPC node that answers from a table: method (or eth_call:<selector>) -> response."""

    def __init__(self, answers: Answers) -> None:
        super().__init__()
        self.answers = answers

    def make_request(self, method: Any, params: Any) -> Any:
        key = f"eth_call:{params[0]['data'][:10]}" if method == "eth_call" else method
        answer = self.answers.get(key, {"error": {"code": -32601, "message": f"no answer for {key}"}})
        if answer == "down":
            raise ConnectionError("connection refused")
        if answer == "http-502":  # what HTTPProvider raises for a proxy's error page
            response = requests.Response()
            response.status_code = 502
            raise requests.HTTPError("502 Server Error: Bad Gateway", response=response)
        if answer == "garbage":  # what HTTPProvider raises for a body that is not JSON
            raise json.JSONDecodeError("Expecting value", "<html>502 Bad Gateway</html>", 0)
        return {"jsonrpc": "2.0", "id": 1, **answer}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def receipt(*logs: dict[str, Any], status: int = 1, to: str = REGISTRY, block: str = BLOCK) -> dict[str, Any]:
    return {
        "result": {
            "transactionHash": TX,
            "blockHash": block,
            "blockNumber": "0xc",
            "status": hex(status),
            "to": to,
            "from": "0x" + "11" * 20,
            "logs": list(logs),
            "transactionIndex": "0x0",
            "cumulativeGasUsed": "0x1",
            "gasUsed": "0x1",
            "contractAddress": None,
            "logsBloom": "0x" + "00" * 256,
            "type": "0x2",
            "effectiveGasPrice": "0x1",
        }
    }


def log(topics: list[str], data: str, address: str = REGISTRY) -> dict[str, Any]:
    return {
        "address": address,
        "topics": topics,
        "data": data,
        "blockHash": BLOCK,
        "blockNumber": "0xc",
        "transactionHash": TX,
        "transactionIndex": "0x0",
        "logIndex": "0x0",
        "removed": False,
    }


def expected(text: str, answers: Answers, confirmations: int) -> dict[str, Any]:
    parsed = bundle.parse(text.encode())
    verifier = ChainVerifier(Web3Reads(Web3(CannedProvider(answers))), confirmations=confirmations)
    try:
        return verify_bundle(parsed, policy=Policy(), chain=verifier).to_json()
    except ProvenanceError as e:  # pragma: no cover - verify_bundle reports, never raises
        return {"status": "unusable", "code": e.code}


def chain_cases(scenarios: Iterator[tuple[str, dict[str, Any], Answers, int]]) -> list[dict[str, Any]]:
    """Each scenario (name, bundle document, node answers, confirmations required) as a case."""
    cases = []
    for name, doc, answers, confirmations in scenarios:
        text = json.dumps(doc, indent=2)
        case = {"name": f"chain/{name}", "text": text, "answers": answers, "confirmations": confirmations}
        cases.append({**case, "expected": expected(text, answers, confirmations)})
    return cases


def manifest_of(doc: dict[str, Any]) -> Manifest:
    return Manifest.from_json(doc["manifest"]["manifest"])
