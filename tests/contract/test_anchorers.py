"""Anchorer permissions and the primary-anchorer rule, before any checkpoint.

The first anchorer enabled becomes the primary one (the contract keeps it in the checkpoint head
slot, so its anchors skip a cold storage read); later ones are plain anchorers. What happens to
the primary once checkpoints exist is in test_checkpoints.py.
"""

from __future__ import annotations

import pytest
from web3.contract import Contract

from tests.contract.harness import ZERO_ADDRESS, Roles, events, revert_name, send

pytestmark = pytest.mark.chain


def primary(reg: Contract) -> str:
    return str(reg.functions.primaryAnchorer().call())


def test_no_primary_anchorer_at_deploy(deployed: Contract) -> None:
    assert primary(deployed) == ZERO_ADDRESS


def test_set_anchorer_is_owner_only(reg: Contract, roles: Roles) -> None:
    fn = reg.functions.setAnchorer(roles.primary, True)
    assert revert_name(fn, roles.stranger) == "OwnableUnauthorizedAccount"


def test_zero_anchorer_refused(reg: Contract, roles: Roles) -> None:
    assert revert_name(reg.functions.setAnchorer(ZERO_ADDRESS, True), roles.owner) == "ZeroAddress"


def test_disabling_a_non_anchorer_refused(reg: Contract, roles: Roles) -> None:
    assert revert_name(reg.functions.setAnchorer(roles.primary, False), roles.owner) == "AnchorerUnchanged"


def test_anchorer_set_event(reg: Contract, roles: Roles) -> None:
    receipt = send(reg.functions.setAnchorer(roles.primary, True), roles.owner)
    assert [(e["anchorer"], e["enabled"]) for e in events(reg, "AnchorerSet", receipt)] == [
        (roles.primary, True)
    ]


def test_first_anchorer_becomes_primary(reg: Contract, roles: Roles) -> None:
    send(reg.functions.setAnchorer(roles.primary, True), roles.owner)
    assert reg.functions.isAnchorer(roles.primary).call()
    assert primary(reg) == roles.primary


@pytest.mark.usefixtures("anchorers")
def test_second_anchorer_does_not_replace_the_primary(reg: Contract, roles: Roles) -> None:
    assert reg.functions.isAnchorer(roles.secondary).call()
    assert primary(reg) == roles.primary


@pytest.mark.usefixtures("anchorers")
@pytest.mark.parametrize("who", ["primary", "secondary"])
def test_no_op_set_anchorer_refused(reg: Contract, roles: Roles, who: str) -> None:
    fn = reg.functions.setAnchorer(getattr(roles, who), True)
    assert revert_name(fn, roles.owner) == "AnchorerUnchanged"


@pytest.mark.usefixtures("anchorers")
@pytest.mark.parametrize("who", ["stranger", "owner"])
def test_is_not_an_anchorer(reg: Contract, roles: Roles, who: str) -> None:
    assert not reg.functions.isAnchorer(getattr(roles, who)).call()
