"""Checkpoints: a log anchored at growing sizes, each a consistency proof from the previous one.

SIZES are anchored in turn by the primary and the secondary anchorer (so both the primary check
and the `_anchorers` lookup run). Each step is tested from the state its earlier steps leave:
the refusals before the anchor, the head after it, and verifyCheckpoint of every earlier size.
Older checkpoints live only in the logs (CheckpointAnchored, indexed by index and by size).
"""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import RPCEndpoint, TxReceipt

from tests.contract.harness import (
    PANIC_OVERFLOW,
    UINT64_MAX,
    ZERO_ADDRESS,
    Roles,
    check_all,
    check_reverts,
    check_views,
    demo_tree,
    deploy,
    events,
    revert_name,
    reverted,
    send,
    sha256,
    tampered,
)

pytestmark = pytest.mark.chain

TREE = demo_tree(320)
SIZES = (3, 4, 5, 8, 9, 16, 17, 31, 32, 33, 64, 100, 101, 128, 255, 256, 300)
NEVER_ANCHORED = (1, 2, 6, 7, 10, 99, 254)
ZERO_ROOT = b"\x00" * 32


def root(n: int) -> bytes:
    return TREE.root_at(n)


def anchor(reg: Contract, n: int, proof: list[bytes]) -> ContractFunction:
    return reg.functions.anchorCheckpoint(n, root(n), proof)


def primary(reg: Contract) -> str:
    return str(reg.functions.primaryAnchorer().call())


def count(reg: Contract) -> int:
    return int(reg.functions.checkpointCount().call())


def latest(reg: Contract) -> tuple[int, int, bytes]:
    index, size, head_root = reg.functions.latestCheckpoint().call()
    return index, size, bytes(head_root)


def sender_of(step: int, roles: Roles) -> str:
    return roles.primary if step % 3 else roles.secondary


def anchor_step(reg: Contract, roles: Roles, step: int) -> TxReceipt:
    """Anchors SIZES[step], with a consistency proof from SIZES[step - 1] (none for the first)."""
    n = SIZES[step]
    proof = TREE.consistency_proof(SIZES[step - 1], n) if step else []
    return send(anchor(reg, n, proof), sender_of(step, roles))


def anchor_log(reg: Contract, roles: Roles, steps: int) -> None:
    for step in range(steps):
        anchor_step(reg, roles, step)


def step_id(step: int) -> str:
    return f"#{step} size {SIZES[step]}"


# --------------------------------------------------------------------------- before any checkpoint


def test_no_checkpoint_yet(deployed: Contract, roles: Roles) -> None:
    assert revert_name(deployed.functions.latestCheckpoint(), roles.stranger) == "NoCheckpoint"


def test_checkpoint_count_is_0_at_deploy(deployed: Contract) -> None:
    assert count(deployed) == 0


def test_verify_checkpoint_before_any_is_false(deployed: Contract) -> None:
    assert not deployed.functions.verifyCheckpoint(5, root(5), []).call()


@pytest.mark.parametrize("who", ["owner", "zero address"])
def test_anchor_refused_before_any_anchorer(deployed: Contract, roles: Roles, who: str) -> None:
    # The zero address, by eth_call: an empty primary slot must not make it the primary anchorer.
    sender = roles.owner if who == "owner" else ZERO_ADDRESS
    assert revert_name(anchor(deployed, 5, []), sender) == "NotAnchorer"


@pytest.mark.usefixtures("anchorers")
def test_non_anchorer_refused(reg: Contract, roles: Roles) -> None:
    assert revert_name(anchor(reg, 5, []), roles.stranger) == "NotAnchorer"


@pytest.mark.usefixtures("anchorers")
@pytest.mark.parametrize("who", ["primary", "secondary"])
@pytest.mark.parametrize(
    ("size", "first_root", "proof", "error"),
    [
        pytest.param(0, root(0), [], "EmptyCheckpoint", id="size 0"),
        pytest.param(5, root(5), [root(5)], "UnexpectedProof", id="first with proof"),
        pytest.param(5, ZERO_ROOT, [], "ZeroCheckpointRoot", id="first with zero root"),
    ],
)
def test_first_checkpoint_refused(
    reg: Contract, roles: Roles, who: str, size: int, first_root: bytes, proof: list[bytes], error: str
) -> None:
    fn = reg.functions.anchorCheckpoint(size, first_root, proof)
    assert revert_name(fn, getattr(roles, who)) == error


# --------------------------------------------------------------------------- the log, step by step


def later_refusals(
    reg: Contract, prev: int, n: int, sender: str, stranger: str
) -> list[tuple[str, ContractFunction, str, str]]:
    """Every refusal of the checkpoint prev -> n once prev is the latest: (name, call, sender, error)."""
    proof = TREE.consistency_proof(prev, n)
    at = f"at {prev}->{n}"
    bad_proof = "InvalidConsistencyProof"
    fn = reg.functions.anchorCheckpoint
    cases = [
        (f"equal size refused {at}", anchor(reg, prev, []), sender, "CheckpointSizeUnchanged"),
        (f"smaller refused {at}", anchor(reg, prev - 1, []), sender, "CheckpointSizeDecreased"),
        (f"forged root refused {at}", fn(n, sha256(b"forged"), proof), sender, bad_proof),
        (f"short proof refused {at}", anchor(reg, n, proof[:-1]), sender, bad_proof),
        (f"long proof refused {at}", anchor(reg, n, [*proof, proof[-1]]), sender, bad_proof),
    ]
    cases += [
        (f"tampered proof node {k} refused {at}", anchor(reg, n, tampered(proof, k)), sender, bad_proof)
        for k in range(len(proof))
    ]
    cases.append((f"stranger refused {at}", anchor(reg, n, proof), stranger, "NotAnchorer"))
    return cases


@pytest.mark.usefixtures("anchorers")
@pytest.mark.parametrize("step", range(1, len(SIZES)), ids=lambda s: f"{SIZES[s - 1]}->{SIZES[s]}")
def test_later_checkpoint_refusals(reg: Contract, roles: Roles, step: int) -> None:
    anchor_log(reg, roles, step)
    check_reverts(later_refusals(reg, SIZES[step - 1], SIZES[step], sender_of(step, roles), roles.stranger))


def anchored(reg: Contract, receipt: TxReceipt) -> list[tuple[int, int, bytes]]:
    """(index, size, root) of every CheckpointAnchored event of the transaction."""
    return [(e["index"], e["size"], bytes(e["root"])) for e in events(reg, "CheckpointAnchored", receipt)]


@pytest.mark.usefixtures("anchorers")
@pytest.mark.parametrize("step", range(len(SIZES)), ids=step_id)
def test_anchor_moves_the_head(reg: Contract, roles: Roles, step: int) -> None:
    anchor_log(reg, roles, step)
    receipt = anchor_step(reg, roles, step)
    n = SIZES[step]
    check_all(
        [
            (f"event {step}", anchored(reg, receipt), [(step, n, root(n))]),
            (f"count {step + 1}", count(reg), step + 1),
            (f"latest {step}", latest(reg), (step, n, root(n))),
            (f"anchor {step} keeps the primary anchorer", primary(reg), roles.primary),
        ]
    )


def verify_cases(
    reg: Contract, m: int, latest_size: int, when: str
) -> list[tuple[str, ContractFunction, bool]]:
    """verifyCheckpoint of size m against the latest: true with its proof, false with a forged root
    or any one proof node tampered with."""
    proof = TREE.consistency_proof(m, latest_size) if m != latest_size else []
    verify = reg.functions.verifyCheckpoint
    cases = [
        (f"verifyCheckpoint({m}) {when}", verify(m, root(m), proof), True),
        (f"verifyCheckpoint({m}) with a forged root {when}", verify(m, sha256(root(m)), proof), False),
    ]
    cases += [
        (
            f"verifyCheckpoint({m}) with node {k} tampered {when}",
            verify(m, root(m), tampered(proof, k)),
            False,
        )
        for k in range(len(proof))
    ]
    return cases


@pytest.mark.usefixtures("anchorers")
@pytest.mark.parametrize("step", range(len(SIZES)), ids=step_id)
def test_verify_checkpoint_of_every_earlier_size(reg: Contract, roles: Roles, step: int) -> None:
    anchor_log(reg, roles, step + 1)
    check_views(
        case for m in SIZES[: step + 1] for case in verify_cases(reg, m, SIZES[step], f"after {step}")
    )


# --------------------------------------------------------------------------- the whole log


@pytest.fixture(scope="module")
def logged(w3: Web3, roles: Roles) -> Contract:
    """A registry of its own with every size of SIZES anchored. Views only: mutating tests take `log`."""
    reg, _ = deploy(w3, roles.owner)
    send(reg.functions.setAnchorer(roles.primary, True), roles.owner)
    send(reg.functions.setAnchorer(roles.secondary, True), roles.owner)
    anchor_log(reg, roles, len(SIZES))
    return reg


@pytest.fixture
def log(logged: Contract, isolated: None) -> Contract:
    return logged


def test_later_checkpoint_without_proof_is_not_a_first_one(logged: Contract, roles: Roles) -> None:
    assert revert_name(anchor(logged, 5, []), roles.primary) == "CheckpointSizeDecreased"


@pytest.mark.parametrize("index", range(len(SIZES)), ids=lambda i: f"index {i} size {SIZES[i]}")
def test_checkpoint_anchored_log_by_index_and_by_size(logged: Contract, index: int) -> None:
    m = SIZES[index]
    event = logged.events.CheckpointAnchored()
    found = event.get_logs(from_block=0, argument_filters={"size": m})
    found += event.get_logs(from_block=0, argument_filters={"index": index})
    assert [(e["args"]["index"], bytes(e["args"]["root"])) for e in found] == [(index, root(m))] * 2


@pytest.mark.parametrize("m", NEVER_ANCHORED)
def test_never_anchored_size_verifies_against_the_latest(logged: Contract, m: int) -> None:
    assert m not in SIZES
    check_views(verify_cases(logged, m, SIZES[-1], "never anchored"))
    assert not logged.events.CheckpointAnchored().get_logs(from_block=0, argument_filters={"size": m})


@pytest.mark.parametrize("m", [0, SIZES[-1] + 1, UINT64_MAX], ids=["empty log", "past the latest", "2^64-1"])
def test_verify_checkpoint_refused(logged: Contract, m: int) -> None:
    assert not logged.functions.verifyCheckpoint(m, root(min(m, TREE.size)), []).call()


# --------------------------------------------------------------------------- the primary anchorer, later
# Each fixture below takes the log one step further; every test starts over from the whole log.


@pytest.fixture
def primary_disabled(log: Contract, roles: Roles) -> TxReceipt:
    return send(log.functions.setAnchorer(roles.primary, False), roles.owner)


def test_disabling_the_primary_emits_anchorer_set(
    log: Contract, roles: Roles, primary_disabled: TxReceipt
) -> None:
    got = [(e["anchorer"], e["enabled"]) for e in events(log, "AnchorerSet", primary_disabled)]
    assert got == [(roles.primary, False)]


@pytest.mark.usefixtures("primary_disabled")
def test_disabling_the_primary_clears_it(log: Contract) -> None:
    assert primary(log) == ZERO_ADDRESS


@pytest.mark.usefixtures("primary_disabled")
def test_disabled_primary_is_no_anchorer(log: Contract, roles: Roles) -> None:
    assert not log.functions.isAnchorer(roles.primary).call()


def test_set_anchorer_keeps_the_checkpoint_head(log: Contract, roles: Roles) -> None:
    # The head slot packs count, latest size and primary: rewriting the primary must keep the rest.
    before = latest(log)
    send(log.functions.setAnchorer(roles.primary, False), roles.owner)
    assert latest(log) == before


@pytest.mark.usefixtures("primary_disabled")
@pytest.mark.parametrize("who", ["disabled primary", "zero address"])
def test_anchor_refused_after_disabling_the_primary(log: Contract, roles: Roles, who: str) -> None:
    sender = roles.primary if who == "disabled primary" else ZERO_ADDRESS
    fn = anchor(log, 302, TREE.consistency_proof(SIZES[-1], 302))
    assert revert_name(fn, sender) == "NotAnchorer"


@pytest.mark.usefixtures("primary_disabled")
def test_disabling_twice_refused(log: Contract, roles: Roles) -> None:
    assert revert_name(log.functions.setAnchorer(roles.primary, False), roles.owner) == "AnchorerUnchanged"


@pytest.fixture
def no_primary_anchor(log: Contract, roles: Roles, primary_disabled: TxReceipt) -> None:
    """302 anchored by the secondary anchorer while no primary is set."""
    send(anchor(log, 302, TREE.consistency_proof(SIZES[-1], 302)), roles.secondary)


@pytest.mark.usefixtures("no_primary_anchor")
def test_non_primary_anchors_with_no_primary_set(log: Contract) -> None:
    assert latest(log)[1] == 302


@pytest.mark.usefixtures("no_primary_anchor")
def test_an_anchor_by_a_non_primary_sets_no_primary(log: Contract) -> None:
    assert primary(log) == ZERO_ADDRESS


@pytest.fixture
def third_enabled(log: Contract, roles: Roles, no_primary_anchor: None) -> None:
    send(log.functions.setAnchorer(roles.third, True), roles.owner)


@pytest.mark.usefixtures("third_enabled")
def test_next_enabled_anchorer_becomes_primary(log: Contract, roles: Roles) -> None:
    assert primary(log) == roles.third


@pytest.fixture
def primary_re_enabled(log: Contract, roles: Roles, third_enabled: None) -> None:
    send(log.functions.setAnchorer(roles.primary, True), roles.owner)


@pytest.mark.usefixtures("primary_re_enabled")
def test_re_enabled_anchorer_is_not_primary(log: Contract, roles: Roles) -> None:
    assert (primary(log), log.functions.isAnchorer(roles.primary).call()) == (roles.third, True)


@pytest.fixture
def secondary_disabled(log: Contract, roles: Roles, primary_re_enabled: None) -> None:
    send(log.functions.setAnchorer(roles.secondary, False), roles.owner)


@pytest.mark.usefixtures("secondary_disabled")
def test_disabling_a_non_primary_keeps_the_primary(log: Contract, roles: Roles) -> None:
    assert primary(log) == roles.third


@pytest.mark.usefixtures("secondary_disabled")
def test_disabled_non_primary_is_no_anchorer(log: Contract, roles: Roles) -> None:
    assert not log.functions.isAnchorer(roles.secondary).call()


@pytest.mark.usefixtures("secondary_disabled")
def test_disabled_non_primary_refused(log: Contract, roles: Roles) -> None:
    fn = anchor(log, 303, TREE.consistency_proof(302, 303))
    assert revert_name(fn, roles.secondary) == "NotAnchorer"


def last_anchors(roles: Roles) -> list[tuple[str, int, int]]:
    """(sender, previous size, size): the new primary, then the re-enabled non-primary anchorer."""
    return [(roles.third, 302, 305), (roles.primary, 305, 310)]


@pytest.mark.usefixtures("secondary_disabled")
def test_new_primary_and_re_enabled_anchorer_anchor(log: Contract, roles: Roles) -> None:
    checks: list[tuple[str, object, object]] = []
    for who, prev, n in last_anchors(roles):
        send(anchor(log, n, TREE.consistency_proof(prev, n)), who)
        checks.append(
            (f"anchor {n} by {who[:8]}", log.functions.verifyCheckpoint(n, root(n), []).call(), True)
        )
    checks.append(("primary kept across anchors", primary(log), roles.third))
    checks.append(("final count", count(log), len(SIZES) + 3))
    check_all(checks)


# --------------------------------------------------------------------------- the count's overflow guard


@pytest.fixture
def final_log(log: Contract, roles: Roles, secondary_disabled: None) -> Contract:
    for who, prev, n in last_anchors(roles):
        send(anchor(log, n, TREE.consistency_proof(prev, n)), who)
    return log


def head(count: int, size: int, primary: str) -> int:
    """The checkpoint head slot: count (uint32) | latest size (uint64) | primary anchorer (address)."""
    return count << 224 | size << 160 | int(primary, 16)


def find_head_slot(w3: Web3, reg: Contract, value: int) -> int | None:
    """Storage slot of the checkpoint head, found by its value."""
    for slot in range(64):
        if int.from_bytes(w3.eth.get_storage_at(reg.address, slot), "big") == value:
            return slot
    return None


def test_checkpoint_count_cannot_wrap(w3: Web3, roles: Roles, final_log: Contract) -> None:
    """The count is a uint32 in the head slot: at 2^32 - 1 the next anchor must panic, not wrap."""
    reg, final_count = final_log, len(SIZES) + 3
    slot = find_head_slot(w3, reg, head(final_count, 310, roles.third))
    assert slot is not None, "checkpoint head slot found"
    with reverted(w3):
        full = "0x" + head(2**32 - 1, 310, roles.third).to_bytes(32, "big").hex()
        w3.provider.make_request(RPCEndpoint("anvil_setStorageAt"), [reg.address, hex(slot), full])
        assert count(reg) == 2**32 - 1, "count at 2^32 - 1"
        got = revert_name(anchor(reg, 320, TREE.consistency_proof(310, 320)), roles.third)
        assert got is not None and PANIC_OVERFLOW in got, f"count overflow panics: {got}"
    assert count(reg) == final_count, "count restored"
