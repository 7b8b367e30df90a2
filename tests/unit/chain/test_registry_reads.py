"""The CLI's chain reader (plain JSON-RPC) reaches web3's verdict on every chain case of the
differential corpus: the same node answers (canned: honest, lying, broken, down) go to both."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance.chain.jsonrpc import NodeError, bad_answer
from provenance.chain.registry_reads import (
    AbiDecodingError,
    RpcChain,
    decode_word,
    decode_words,
    encode_args,
)
from provenance.chain.verifier import ChainVerifier
from provenance.errors import RpcUnavailable
from provenance.proofs import bundle
from provenance.proofs.verify import Policy, verify_bundle

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from make_web_corpus import anchored
from web_corpus.chain import chain_cases

CASES = chain_cases(anchored())


def canned(answers: dict[str, Any]) -> Any:
    """What :class:`JsonRpc` makes of each canned answer (test_jsonrpc.py holds it to that)."""

    def request(method: str, params: list[Any]) -> Any:
        key = f"eth_call:{params[0]['data'][:10]}" if method == "eth_call" else method
        answer = answers.get(key, {"error": {"code": -32601, "message": f"no answer for {key}"}})
        if answer == "down":
            raise RpcUnavailable("JSON-RPC endpoint unreachable: ConnectionRefusedError")
        if answer == "http-502":
            raise RpcUnavailable("JSON-RPC endpoint answered HTTP 502")
        if answer == "garbage":
            raise bad_answer("JSONDecodeError")
        if answer.get("error") is not None:
            raise NodeError(answer["error"])
        return answer.get("result")

    return request


def project(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": v["status"],
        "checks": [(c["check"], c["status"], c["reason"]) for c in v["checks"]],
        "warnings": [(c["check"], c["status"], c["reason"]) for c in v.get("warnings", [])],
    }


def test_the_corpus_has_chain_cases_of_both_modes() -> None:
    names = {c["name"] for c in CASES}
    assert {"chain/direct/ok", "chain/checkpoint/ok", "chain/direct/rpc-down"} <= names
    assert len(CASES) >= 75


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_jsonrpc_reader_reaches_web3s_verdict(case: dict[str, Any]) -> None:
    chain = ChainVerifier(RpcChain(canned(case["answers"])), confirmations=case["confirmations"])
    verdict = verify_bundle(bundle.parse(case["text"].encode()), policy=Policy(), chain=chain)
    assert project(verdict.to_json()) == project(case["expected"])


KINDS = st.sampled_from(["bytes32", "address", "bool", "uint8", "uint64", "uint256"])


@given(KINDS, st.binary(min_size=32, max_size=32))
def test_a_word_decodes_as_eth_abi_decodes_it_strictly(kind: str, word: bytes) -> None:
    from eth_abi import decode
    from eth_abi.exceptions import DecodingError

    try:
        expected = decode([kind], word)[0]
    except DecodingError:
        with pytest.raises(AbiDecodingError):
            decode_word(kind, word)
        return
    assert decode_word(kind, word) == expected


ARGS = st.one_of(
    st.tuples(st.just("bytes32"), st.binary(min_size=32, max_size=32)),
    st.tuples(st.just("uint64"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("string"), st.text(max_size=80)),
    st.tuples(st.just("address"), st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())),
)


@given(st.lists(ARGS, max_size=4))
def test_arguments_encode_as_eth_abi_encodes_them(args: list[tuple[str, Any]]) -> None:
    from eth_abi import encode

    kinds = [k for k, _ in args]
    values = tuple(v for _, v in args)
    assert encode_args(kinds, values) == encode(kinds, list(values))


def test_too_little_data_is_refused() -> None:
    with pytest.raises(AbiDecodingError):
        decode_words(["uint256", "bool"], bytes(33))
