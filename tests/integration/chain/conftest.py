"""One suite, two chains: every test here runs on the embedded chain and on a real anvil node."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from provenance.chain.backends import AnvilBackend, AnvilNode, Backend, EmbeddedBackend
from provenance.chain.registry import RegistryClient
from provenance.chain.transactions import Transactor
from provenance.manifest import Domain, Manifest, SignedManifest, sign
from tests import factories as f


@pytest.fixture(scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.chain)])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if request.param == "embedded":
        b: Backend = EmbeddedBackend()
    else:
        b = AnvilBackend(AnvilNode(log_file=tmp_path_factory.mktemp("anvil") / "anvil.log"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def transactor(backend: Backend) -> Transactor:
    return Transactor(backend.w3, poll=0.01)


@dataclass
class Env:
    backend: Backend
    reg: RegistryClient
    owner: LocalAccount
    anchorer: LocalAccount
    relayer: LocalAccount
    source: LocalAccount

    @property
    def domain(self) -> Domain:
        return Domain(self.reg.chain_id, self.reg.address)

    def sign(
        self, manifest: Manifest, key: bytes | None = None, domain: Domain | None = None
    ) -> SignedManifest:
        return sign(manifest, domain or self.domain, key or self.source.key)

    def fund(self, account: LocalAccount, wei: int = 10**18) -> None:
        self.reg.tx.transfer(self.owner, account.address, wei)


@pytest.fixture
def env(backend: Backend, transactor: Transactor) -> Env:
    """A freshly deployed registry; the factories' source key registered; an anchorer set."""
    return make_env(backend, transactor)


def make_env(backend: Backend, transactor: Transactor) -> Env:
    owner, anchorer, relayer = backend.accounts[:3]
    reg, _ = RegistryClient.deploy(backend.w3, owner, transactor=transactor)
    source: LocalAccount = Account.from_key(f.SOURCE_KEY)
    e = Env(backend, reg, owner, anchorer, relayer, source)
    reg.register_source(source.address, owner)
    reg.set_anchorer(anchorer.address, True, owner)
    reg.set_log_key(f.log_signer().verifier_key(), True, owner)
    return e


def revert_of(fn: Any) -> str:
    from provenance.chain.reverts import ContractRevert

    with pytest.raises(ContractRevert) as err:
        fn()
    return err.value.error
