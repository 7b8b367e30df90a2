"""Snapshots: the first version claims a dataset, versions follow one by one, retractions."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from tests.contract.harness import (
    Dataset,
    Keys,
    Roles,
    events,
    make_manifest,
    revert_name,
    send_as,
    sha256,
    signed_anchor,
)

pytestmark = pytest.mark.chain


@pytest.mark.parametrize(
    ("version", "size", "error"),
    [
        pytest.param(2, None, "UnexpectedVersion", id="new dataset must start at 1"),
        pytest.param(1, 2**56, "SizeTooLarge", id="size >= 2^56"),
    ],
)
def test_first_snapshot_refused(
    reg: Contract, roles: Roles, source: LocalAccount, version: int, size: int | None, error: str
) -> None:
    m = make_manifest("tm/ratings/daily", version)
    if size is not None:
        m["size"] = size
    assert revert_name(signed_anchor(reg, m, source.key), roles.relayer) == error


def test_snapshot_anchored_event(reg: Contract, source: LocalAccount, dataset: Dataset) -> None:
    (ev,) = events(reg, "SnapshotAnchored", dataset.receipt)
    assert (ev["signer"], ev["version"], bytes(ev["digest"])) == (source.address, 1, dataset.returned_digest)


def test_dataset_claimed_event(reg: Contract, dataset: Dataset) -> None:
    assert len(events(reg, "DatasetClaimed", dataset.receipt)) == 1


def test_first_snapshot_sets_the_dataset_owner(reg: Contract, source: LocalAccount, dataset: Dataset) -> None:
    assert reg.functions.datasetOwner(dataset.id).call() == source.address


def test_latest_version_is_1(reg: Contract, dataset: Dataset) -> None:
    assert reg.functions.latestVersion(dataset.id).call() == 1


def test_snapshot_of_v1(reg: Contract, source: LocalAccount, dataset: Dataset) -> None:
    root, size, signer, block, retracted = reg.functions.snapshotOf(dataset.id, 1).call()
    v1 = dataset.v1
    want = (v1["root"], v1["size"], source.address, dataset.receipt["blockNumber"], False)
    assert (bytes(root), size, signer, block, retracted) == want


def test_unknown_snapshot_refused(reg: Contract, roles: Roles, dataset: Dataset) -> None:
    assert revert_name(reg.functions.snapshotOf(dataset.id, 2), roles.relayer) == "SnapshotNotFound"


def test_replay_refused(reg: Contract, roles: Roles, source: LocalAccount, dataset: Dataset) -> None:
    assert revert_name(signed_anchor(reg, dataset.v1, source.key), roles.relayer) == "UnexpectedVersion"


def test_version_gap_refused(reg: Contract, roles: Roles, source: LocalAccount, dataset: Dataset) -> None:
    v3 = make_manifest("tm/ratings/daily", 3)
    assert revert_name(signed_anchor(reg, v3, source.key), roles.relayer) == "UnexpectedVersion"


# --------------------------------------------------------------------------- retraction

NO_REASON = b"\x00" * 32


def test_stranger_cannot_retract(reg: Contract, keys: Keys, dataset: Dataset) -> None:
    fn = reg.functions.retract(dataset.id, 1, NO_REASON)
    assert revert_name(fn, keys.stranger.address) == "NotDatasetSigner"


def test_retracting_an_unknown_version_refused(reg: Contract, source: LocalAccount, dataset: Dataset) -> None:
    assert revert_name(reg.functions.retract(dataset.id, 9, NO_REASON), source.address) == "SnapshotNotFound"


@pytest.fixture
def retraction(reg: Contract, w3: Web3, dataset: Dataset, rotated: LocalAccount) -> TxReceipt:
    """v1 retracted by an authorised signer that is not the dataset owner."""
    return send_as(w3, reg.functions.retract(dataset.id, 1, sha256(b"reason")), rotated)


def test_snapshot_retracted_event(reg: Contract, retraction: TxReceipt) -> None:
    assert len(events(reg, "SnapshotRetracted", retraction)) == 1


def test_retracted_flag_set(reg: Contract, dataset: Dataset, retraction: TxReceipt) -> None:
    assert reg.functions.snapshotOf(dataset.id, 1).call()[4] is True


def test_retracting_twice_refused(
    reg: Contract, source: LocalAccount, dataset: Dataset, retraction: TxReceipt
) -> None:
    assert revert_name(reg.functions.retract(dataset.id, 1, NO_REASON), source.address) == "AlreadyRetracted"
