"""The log keys the registry's owner vouches for: where verifiers pin the checkpoint signer."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak
from web3.contract import Contract

from tests import factories as f
from tests.contract.harness import Roles, events, revert_name, send

pytestmark = pytest.mark.chain

KEY = f.log_signer().verifier_key()


def test_no_log_key_at_deploy(deployed: Contract) -> None:
    assert not deployed.functions.isLogKey(KEY).call()


def test_set_log_key_is_owner_only(reg: Contract, roles: Roles) -> None:
    assert revert_name(reg.functions.setLogKey(KEY, True), roles.stranger) == "OwnableUnauthorizedAccount"


def test_empty_log_key_refused(reg: Contract, roles: Roles) -> None:
    assert revert_name(reg.functions.setLogKey("", True), roles.owner) == "EmptyLogKey"


def test_vouch_then_withdraw(reg: Contract, roles: Roles) -> None:
    receipt = send(reg.functions.setLogKey(KEY, True), roles.owner)
    assert [
        (bytes(e["keyHash"]), e["verifierKey"], e["trusted"]) for e in events(reg, "LogKeySet", receipt)
    ] == [(keccak(text=KEY), KEY, True)]
    assert reg.functions.isLogKey(KEY).call()
    # exact text: another key, or the same one with a trailing newline, is not vouched for
    assert not reg.functions.isLogKey(KEY + "\n").call()
    assert revert_name(reg.functions.setLogKey(KEY, True), roles.owner) == "LogKeyUnchanged"
    send(reg.functions.setLogKey(KEY, False), roles.owner)
    assert not reg.functions.isLogKey(KEY).call()
    assert revert_name(reg.functions.setLogKey(KEY, False), roles.owner) == "LogKeyUnchanged"
