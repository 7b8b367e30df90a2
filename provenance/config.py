"""One settings object (env prefix ``PROVENANCE_``), passed in, never read from a global."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from provenance.errors import ConfigError

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

    environment: Literal["development", "production"] = "development"
    database_url: str | None = None  # default: SQLite under data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: SecretStr | None = None
    log_origin: str = "provenance.local/ledger"
    checkpoint_every: int = Field(default=16, ge=1)  # log entries
    checkpoint_interval: float = Field(default=5.0, gt=0)  # seconds
    # The audit trail is itself a dataset, snapshotted (all verifications so far) and anchored
    # this often when it grew; signed with this server keystore.
    audit_snapshot_interval: float = Field(default=3600.0, gt=0)  # seconds
    audit_signing_key: str = "dev-source"
    worker_poll: float = Field(default=0.5, gt=0)
    run_worker: bool = True
    stale_build_seconds: float = Field(default=15.0, gt=0)  # a building snapshot without heartbeat
    load_sample: bool = True
    bootstrap: bool = True  # create/register the development source (extra API processes skip it)

    max_upload_bytes: int = 1 << 30
    max_record_bytes: int = 1 << 20
    max_records: int = 50_000_000
    max_bundle_bytes: int = 16 << 20
    ingest_workers: int | None = None
    max_refs_per_record: int = Field(default=64, ge=1, le=1024)  # upstream refs of one record
    max_lineage_depth: int = Field(default=16, ge=1)  # steps a lineage query may walk
    max_lineage_nodes: int = Field(default=1000, ge=1)  # snapshots a lineage answer may hold

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def secret(self, value: SecretStr | None, what: str, dev_default: str) -> str:
        """A secret's value; outside development a missing or placeholder value is refused."""
        text = value.get_secret_value() if value is not None else ""
        if self.environment == "development":
            return text or dev_default
        if not text or text in PLACEHOLDERS or text == dev_default:
            raise ConfigError(
                f"{what} must be set to a real secret in production", code="config.placeholder-secret"
            )
        return text


PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "admin", "development"}
DEV_KEY_PASSWORD = "development-only-password"  # noqa: S105 - printed as such by `serve`
DEV_ADMIN_TOKEN = "development-admin-token"  # noqa: S105 - printed as such by `serve`
