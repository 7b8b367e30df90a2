"""Sources (registered and revoked by the owner) and dataset signers (authorised by the dataset owner).

The dataset of these tests is "tm/ratings/daily", claimed by `keys.source` with version 1; its
owner authorises `keys.rotated`, which keeps anchoring once the owner's own key is revoked.
"""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from tests.contract.harness import (
    Dataset,
    Keys,
    Roles,
    make_manifest,
    revert_name,
    send,
    send_as,
    signed_anchor,
)

pytestmark = pytest.mark.chain

ACTIVE, REVOKED = 1, 2  # sourceStatus values


def test_deployer_is_the_owner(deployed: Contract, roles: Roles) -> None:
    assert deployed.functions.owner().call() == roles.owner


# --------------------------------------------------------------------------- sources


def test_unregistered_source_refused(reg: Contract, roles: Roles, keys: Keys) -> None:
    fn = signed_anchor(reg, make_manifest("tm/ratings/daily", 1), keys.source.key)
    assert revert_name(fn, roles.relayer) == "SourceNotActive"


def test_register_source_is_owner_only(reg: Contract, roles: Roles, keys: Keys) -> None:
    fn = reg.functions.registerSource(keys.source.address)
    assert revert_name(fn, roles.relayer) == "OwnableUnauthorizedAccount"


def test_double_register_refused(reg: Contract, roles: Roles, source: LocalAccount) -> None:
    assert revert_name(reg.functions.registerSource(source.address), roles.owner) == "SourceAlreadyActive"


def test_registered_source_is_active(reg: Contract, source: LocalAccount) -> None:
    assert reg.functions.sourceStatus(source.address).call() == ACTIVE


# --------------------------------------------------------------------------- signers


def v2_by(reg: Contract, dataset: Dataset, key: LocalAccount) -> ContractFunction:
    v2 = make_manifest(
        "tm/ratings/daily", 2, [{"datasetId": dataset.id, "version": 1, "root": dataset.v1["root"]}]
    )
    return signed_anchor(reg, v2, key.key)


def test_unauthorised_signer_refused(reg: Contract, roles: Roles, keys: Keys, dataset: Dataset) -> None:
    assert revert_name(v2_by(reg, dataset, keys.rotated), roles.relayer) == "NotDatasetSigner"


def test_signer_is_not_authorised_before_authorize(reg: Contract, keys: Keys, dataset: Dataset) -> None:
    assert not reg.functions.isAuthorizedSigner(dataset.id, keys.rotated.address).call()


def test_dataset_owner_is_an_authorised_signer(reg: Contract, source: LocalAccount, dataset: Dataset) -> None:
    assert reg.functions.isAuthorizedSigner(dataset.id, source.address).call()


@pytest.mark.parametrize("who", ["stranger", "contract owner"])
def test_authorize_signer_is_dataset_owner_only(
    reg: Contract, roles: Roles, keys: Keys, dataset: Dataset, who: str
) -> None:
    sender = keys.stranger.address if who == "stranger" else roles.owner
    fn = reg.functions.authorizeSigner(dataset.id, keys.rotated.address)
    assert revert_name(fn, sender) == "NotDatasetOwner"


def test_double_authorise_refused(
    reg: Contract, source: LocalAccount, dataset: Dataset, rotated: LocalAccount
) -> None:
    fn = reg.functions.authorizeSigner(dataset.id, rotated.address)
    assert revert_name(fn, source.address) == "SignerAlreadyAuthorized"


def test_authorised_signer_is_authorised(reg: Contract, dataset: Dataset, rotated: LocalAccount) -> None:
    assert reg.functions.isAuthorizedSigner(dataset.id, rotated.address).call()


def test_authorised_signer_anchors(
    reg: Contract, roles: Roles, dataset: Dataset, rotated: LocalAccount
) -> None:
    send(v2_by(reg, dataset, rotated), roles.relayer)
    assert reg.functions.snapshotOf(dataset.id, 2).call()[2] == rotated.address


# --------------------------------------------------------------------------- revocation


@pytest.fixture
def owner_revoked(
    reg: Contract, roles: Roles, source: LocalAccount, dataset: Dataset, rotated: LocalAccount
) -> Dataset:
    """v2 anchored with the rotated key, then the dataset owner's key revoked as a source."""
    send(v2_by(reg, dataset, rotated), roles.relayer)
    send(reg.functions.revokeSource(source.address), roles.owner)
    return dataset


def v3_by(reg: Contract, key: LocalAccount) -> ContractFunction:
    return signed_anchor(reg, make_manifest("tm/ratings/daily", 3), key.key)


def test_revoked_source_status(reg: Contract, source: LocalAccount, owner_revoked: Dataset) -> None:
    assert reg.functions.sourceStatus(source.address).call() == REVOKED


def test_re_registering_a_revoked_source_refused(
    reg: Contract, roles: Roles, source: LocalAccount, owner_revoked: Dataset
) -> None:
    assert revert_name(reg.functions.registerSource(source.address), roles.owner) == "SourceIsRevoked"


def test_double_revoke_refused(
    reg: Contract, roles: Roles, source: LocalAccount, owner_revoked: Dataset
) -> None:
    assert revert_name(reg.functions.revokeSource(source.address), roles.owner) == "SourceIsRevoked"


def test_revoked_owner_cannot_anchor(
    reg: Contract, roles: Roles, source: LocalAccount, owner_revoked: Dataset
) -> None:
    assert revert_name(v3_by(reg, source), roles.relayer) == "SourceIsRevoked"


def test_revoked_owner_is_not_an_authorised_signer(
    reg: Contract, source: LocalAccount, owner_revoked: Dataset
) -> None:
    assert not reg.functions.isAuthorizedSigner(owner_revoked.id, source.address).call()


def test_revoked_owner_cannot_authorise(
    reg: Contract, keys: Keys, source: LocalAccount, owner_revoked: Dataset
) -> None:
    fn = reg.functions.authorizeSigner(owner_revoked.id, keys.other.address)
    assert revert_name(fn, source.address) == "SourceNotActive"


def test_authorised_signer_anchors_after_the_owner_is_revoked(
    reg: Contract, roles: Roles, rotated: LocalAccount, owner_revoked: Dataset
) -> None:
    send(v3_by(reg, rotated), roles.relayer)
    assert reg.functions.latestVersion(owner_revoked.id).call() == 3


@pytest.fixture
def signer_revoked(reg: Contract, roles: Roles, rotated: LocalAccount, owner_revoked: Dataset) -> Dataset:
    """After v3 by the rotated key, the rotated key revoked globally (it was never a source)."""
    send(v3_by(reg, rotated), roles.relayer)
    send(reg.functions.revokeSource(rotated.address), roles.owner)
    return owner_revoked


def test_revoked_signer_refused(
    reg: Contract, roles: Roles, rotated: LocalAccount, signer_revoked: Dataset
) -> None:
    fn = signed_anchor(reg, make_manifest("tm/ratings/daily", 4), rotated.key)
    assert revert_name(fn, roles.relayer) == "SourceIsRevoked"


def test_revoked_signer_is_not_authorised(
    reg: Contract, rotated: LocalAccount, signer_revoked: Dataset
) -> None:
    assert not reg.functions.isAuthorizedSigner(signer_revoked.id, rotated.address).call()


# --------------------------------------------------------------------------- removeSigner


@pytest.fixture
def removed_signer(reg: Contract, w3: Web3, roles: Roles, keys: Keys) -> bytes:
    """A second dataset, "tm/other", whose owner authorised `keys.stranger` and removed it again."""
    send(reg.functions.registerSource(keys.other.address), roles.owner)
    m = make_manifest("tm/other", 1)
    send(signed_anchor(reg, m, keys.other.key), roles.relayer)
    send_as(w3, reg.functions.authorizeSigner(m["datasetId"], keys.stranger.address), keys.other)
    send_as(w3, reg.functions.removeSigner(m["datasetId"], keys.stranger.address), keys.other)
    return bytes(m["datasetId"])


def test_removing_twice_refused(reg: Contract, keys: Keys, removed_signer: bytes) -> None:
    fn = reg.functions.removeSigner(removed_signer, keys.stranger.address)
    assert revert_name(fn, keys.other.address) == "SignerNotAuthorized"


def test_removed_signer_refused(reg: Contract, roles: Roles, keys: Keys, removed_signer: bytes) -> None:
    fn = signed_anchor(reg, make_manifest("tm/other", 2), keys.stranger.key)
    assert revert_name(fn, roles.relayer) == "NotDatasetSigner"
