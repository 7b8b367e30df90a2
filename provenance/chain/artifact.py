"""The compiled ProvenanceRegistry artifact shipped inside the package (built by scripts/compile.js)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from provenance.evm import keccak256 as keccak


@dataclass(frozen=True)
class Artifact:
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler: str
    sha256: str  # of the artifact file: identifies the exact build a deployment used
    immutables: tuple[tuple[int, int], ...]  # (start, length) byte ranges filled in at deployment

    def matches_deployed(self, code: bytes) -> bool:
        """Whether on-chain ``code`` is this build, ignoring the immutable values (EIP-712's
        cached domain separator, chain id and address are written into the code at deployment)."""
        expected = bytearray(bytes.fromhex(self.deployed_bytecode.removeprefix("0x")))
        if len(code) != len(expected):
            return False
        actual = bytearray(code)
        for start, length in self.immutables:
            actual[start : start + length] = expected[start : start + length]
        return actual == expected

    @property
    def errors(self) -> dict[bytes, tuple[str, list[str], list[str]]]:
        """Custom-error selectors → (name, argument names, argument types)."""
        return _errors(
            tuple(json.dumps(item, sort_keys=True) for item in self.abi if item["type"] == "error")
        )


@cache
def _errors(items: tuple[str, ...]) -> dict[bytes, tuple[str, list[str], list[str]]]:
    out = {}
    for text in items:
        item = json.loads(text)
        types = [i["type"] for i in item["inputs"]]
        selector = keccak(f"{item['name']}({','.join(types)})".encode())[:4]
        out[bytes(selector)] = (item["name"], [i["name"] for i in item["inputs"]], types)
    return out


@cache
def registry_artifact() -> Artifact:
    raw = resources.files("provenance").joinpath("chain/artifacts/ProvenanceRegistry.json").read_bytes()
    data = json.loads(raw)
    return Artifact(
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler=data["compiler"]["version"],
        sha256=hashlib.sha256(raw).hexdigest(),
        immutables=tuple(
            (ref["start"], ref["length"])
            for refs in data.get("immutableReferences", {}).values()
            for ref in refs
        ),
    )
