"""Fixtures of the contract tests: one anvil node and one registry per session, a fresh state per test.

Every fixture that changes chain state depends on `isolated`, which takes an EVM snapshot before
the test and reverts to it after, so each test starts from what the session and module fixtures
built (a revert costs ~3 ms, a deploy ~25 ms and a fresh node far more).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from tests.contract.harness import (
    Dataset,
    Keys,
    Roles,
    accounts,
    anvil,
    deploy,
    fund,
    make_manifest,
    reverted,
    send,
    send_as,
    sha256,
    signed_anchor,
)


@pytest.fixture(scope="session")
def w3() -> Iterator[Web3]:
    # CONTRACT_TESTS_HARDFORK runs the suite on an older fork, e.g. cancun (default: anvil's latest).
    with anvil(os.environ.get("CONTRACT_TESTS_HARDFORK")) as node:
        yield node


@pytest.fixture(scope="session")
def roles(w3: Web3) -> Roles:
    acc = accounts(w3)
    return Roles(
        owner=acc[0], relayer=acc[2], primary=acc[3], secondary=acc[4], stranger=acc[5], third=acc[7]
    )


@pytest.fixture(scope="session")
def keys(w3: Web3) -> Keys:
    # Deterministic keys, so that a failing signature case fails the same way on every run.
    names = [f.name for f in dataclasses.fields(Keys)]
    made = [Account.from_key(sha256(f"contract-tests/{name}".encode())) for name in names]
    for account in made:
        fund(w3, account.address)
    return Keys(*made)


@pytest.fixture(scope="session")
def deployed(w3: Web3, roles: Roles) -> Contract:
    """The session's registry. Views only: a test that sends transactions takes `reg`."""
    return deploy(w3, roles.owner)[0]


@pytest.fixture
def isolated(w3: Web3) -> Iterator[None]:
    with reverted(w3):
        yield


@pytest.fixture
def reg(deployed: Contract, isolated: None) -> Contract:
    """The session's registry as deployed, whatever earlier tests did to it."""
    return deployed


@pytest.fixture
def anchorers(reg: Contract, roles: Roles) -> None:
    """`roles.primary` enabled first (so it is the primary anchorer), then `roles.secondary`."""
    send(reg.functions.setAnchorer(roles.primary, True), roles.owner)
    send(reg.functions.setAnchorer(roles.secondary, True), roles.owner)


@pytest.fixture
def source(reg: Contract, roles: Roles, keys: Keys) -> LocalAccount:
    """`keys.source`, registered as a source by the owner."""
    send(reg.functions.registerSource(keys.source.address), roles.owner)
    return keys.source


@pytest.fixture
def dataset(reg: Contract, roles: Roles, source: LocalAccount) -> Dataset:
    v1 = make_manifest("tm/ratings/daily", 1)
    fn = signed_anchor(reg, v1, source.key)
    returned = bytes(fn.call({"from": roles.relayer}))
    return Dataset(v1, send(fn, roles.relayer), returned)


@pytest.fixture
def rotated(reg: Contract, w3: Web3, keys: Keys, dataset: Dataset) -> LocalAccount:
    """`keys.rotated`, authorised by the dataset owner to sign the dataset's snapshots."""
    send_as(w3, reg.functions.authorizeSigner(dataset.id, keys.rotated.address), keys.source)
    return keys.rotated
