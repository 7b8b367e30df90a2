"""Deploying the registry and recording each deployment (the chain's trust root) on disk."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from provenance.chain.artifact import registry_artifact
from provenance.chain.registry import RegistryClient
from provenance.chain.transactions import Transactor
from provenance.errors import ChainError, NotFoundError


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    address: str
    deploy_block: int
    deploy_block_hash: str
    tx_hash: str
    deployer: str
    owner: str
    artifact_sha256: str
    compiler: str
    deployed_at: int

    def to_json(self) -> dict[str, object]:
        return {_camel(k): v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Deployment:
        try:
            return cls(**{_snake(k): v for k, v in data.items()})  # type: ignore[arg-type]
        except TypeError as e:
            raise ChainError(f"deployment record is malformed: {e}", code="chain.bad-deployment") from None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def deployment_path(directory: Path, chain_id: int) -> Path:
    return directory / f"{chain_id}.json"


def load_deployment(directory: Path, chain_id: int) -> Deployment:
    path = deployment_path(directory, chain_id)
    try:
        return Deployment.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise NotFoundError(
            f"no deployment for chain {chain_id} in {directory}; run `provenance chain deploy`",
            code="chain.not-deployed",
        ) from None


def save_deployment(directory: Path, deployment: Deployment) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = deployment_path(directory, deployment.chain_id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(deployment.to_json(), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def deploy(
    w3: Web3, deployer: LocalAccount, owner: str | None = None, transactor: Transactor | None = None
) -> tuple[RegistryClient, Deployment]:
    """Deploy a registry and describe the deployment."""
    client, result = RegistryClient.deploy(w3, deployer, owner, transactor)
    art = registry_artifact()
    return client, Deployment(
        chain_id=client.chain_id,
        address=client.address,
        deploy_block=result.block_number,
        deploy_block_hash="0x" + result.block_hash.hex(),
        tx_hash="0x" + result.tx_hash.hex(),
        deployer=deployer.address,
        owner=owner or deployer.address,
        artifact_sha256=art.sha256,
        compiler=art.compiler,
        deployed_at=int(time.time()),
    )


def attach(w3: Web3, deployment: Deployment, transactor: Transactor | None = None) -> RegistryClient:
    """A client for a recorded deployment, after checking the code there is ours."""
    client = RegistryClient(w3, deployment.address, transactor)
    code = bytes(w3.eth.get_code(client.address))
    if not code:
        raise ChainError(
            f"no contract at {client.address} on chain {deployment.chain_id} (a fresh chain? redeploy)",
            code="chain.no-code",
        )
    if not registry_artifact().matches_deployed(code):
        raise ChainError(
            f"the code at {client.address} on chain {deployment.chain_id} is not this ProvenanceRegistry "
            "build (another contract, or an earlier version of ours): deploy this one with "
            "`provenance chain deploy`, or for a local dev chain start from an empty data directory",
            code="chain.code-mismatch",
        )
    return client
