"""One settings object (env prefix ``PROVENANCE_``), passed in, never read from a global."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The registry address anvil gives the first contract deployed by its first dev account at
# nonce 0 on chain 31337: what `provenance serve` deploys on a fresh local chain. Manifests
# signed offline use this domain unless told otherwise.
DEV_CHAIN_ID = 31337
DEV_REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "provenance"


class Settings(BaseSettings):
    """Configuration and explicit safety limits."""

    model_config = SettingsConfigDict(env_prefix="PROVENANCE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    key_password: SecretStr | None = None

    chain_id: int = DEV_CHAIN_ID
    registry: str = DEV_REGISTRY

    # Chain access. `rpc_url` wins over `chain_backend` for commands that talk to a node.
    chain_backend: Literal["embedded", "anvil", "rpc"] = "anvil"
    rpc_url: str | None = None
    chain_key_file: Path | None = None  # keystore v3 of the account that pays for transactions
    chain_private_key: SecretStr | None = None  # alternative to the keystore, for CI secrets
    confirmations: int = Field(default=1, ge=1)
    anvil_port: int = 8545
    deployments_dir: Path = Path("deployments")

    max_record_bytes: int = 1 << 20
    max_records: int = 50_000_000
    max_bundle_bytes: int = 16 << 20
    ingest_workers: int | None = None

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"
