"""Bring the ledger up from settings: database, chain, deployment, keys, sample data, worker.

On a fresh data directory with no configuration this gives a working ledger: SQLite under the
data directory, a managed anvil node whose state persists there, the registry deployed on first
start, a development source key and log key in keystores, and the sample dataset loaded. A
second start reuses all of it, so anchors made before a restart still verify after it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr

from provenance.chain.backends import AnvilBackend, AnvilNode, Backend, EmbeddedBackend, RpcBackend
from provenance.chain.deploy import Deployment, attach, deploy, save_deployment
from provenance.chain.registry import RegistryClient
from provenance.chain.transactions import Transactor
from provenance.chain.verifier import ChainVerifier
from provenance.chain.web3_reads import Web3Reads
from provenance.checkpoint import LogSigner
from provenance.config import DEV_KEY_PASSWORD, Settings
from provenance.errors import ChainError, ConflictError, NotFoundError, ProvenanceError
from provenance.ingest import IngestPool
from provenance.keys import load_log_key, load_source_key, new_log_key, new_source_key
from provenance.manifest import Domain
from provenance.records.schema import Schema
from provenance.server.ledger import ChainLink, Ledger
from provenance.server.prover import Prover
from provenance.server.store.database import Database, sqlite_url
from provenance.server.store.log import LogRepository
from provenance.server.store.models import DeploymentRow
from provenance.server.store.outbox import OutboxRepository
from provenance.server.store.snapshots import SnapshotRepository
from provenance.server.worker import AnchorWorker, leader

log = logging.getLogger("provenance.server.bootstrap")

SAMPLE = Path(__file__).parents[1] / "examples" / "token-ratings.csv"
SAMPLE_DATASET = "examples/token-ratings"
SAMPLE_SCHEMA = Schema(
    ("symbol", "date"),
    {
        "price_usd": "number",
        "trader_grade": "number",
        "investor_grade": "number",
        "market_cap_usd": "integer",
    },
)
DEV_SOURCE = "dev-source"
LOG_KEY = "log"


@dataclass
class Service:
    settings: Settings
    db: Database
    backend: Backend
    client: RegistryClient
    account: LocalAccount
    deployment: Deployment
    ledger: Ledger
    worker: AnchorWorker
    notes: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _supervisor: threading.Thread | None = None

    def start_worker(self) -> None:
        """Run the anchoring worker in a thread, if this process wins the leader lock."""
        if self._thread is not None:
            return

        def run() -> None:
            while not self._stop.is_set():
                with leader(self.ledger) as ok:
                    if ok:
                        log.info("anchoring worker is the leader")
                        self.worker.run(self._stop, self.settings.worker_poll)
                        return
                self._stop.wait(5.0)  # another process anchors; try again later

        self._thread = threading.Thread(target=run, name="anchoring", daemon=True)
        self._thread.start()

    def start_supervisor(self) -> None:
        """Check the chain backend every second (a managed anvil node that died is restarted)."""

        def run() -> None:
            while not self._stop.wait(1.0):
                try:
                    note = self.backend.supervise()
                except ProvenanceError as e:  # e.g. its port was taken meanwhile: try again
                    log.error("chain backend: %s", e.message)
                    continue
                if note is not None:
                    log.warning(note)
                    self.client.tx.forget_nonces()
                    self.ledger.recheck_chain()

        self._supervisor = threading.Thread(target=run, name="chain-supervisor", daemon=True)
        self._supervisor.start()

    def close(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.ledger.intake.pool is not None:
            self.ledger.intake.pool.close()
        self.backend.close()
        self.db.close()


def open_backend(settings: Settings) -> Backend:
    if settings.rpc_url:
        return RpcBackend(settings.rpc_url, [_rpc_account(settings)])
    if settings.chain_backend == "embedded":
        return EmbeddedBackend()
    node = AnvilNode(
        state_file=settings.data_dir / "chain" / "anvil-state.json",
        port=settings.anvil_port,
        log_file=settings.data_dir / "chain" / "anvil.log",
    )
    return AnvilBackend(node)


def _rpc_account(settings: Settings) -> LocalAccount:
    if settings.chain_key_file is not None:
        password = settings.secret(settings.key_password, "PROVENANCE_KEY_PASSWORD", DEV_KEY_PASSWORD)
        account: LocalAccount = Account.from_key(load_source_key(settings.chain_key_file, password))
        return account
    if settings.chain_private_key is not None:
        account = Account.from_key(settings.chain_private_key.get_secret_value())
        return account
    raise ChainError(
        "an RPC chain needs PROVENANCE_CHAIN_KEY_FILE or PROVENANCE_CHAIN_PRIVATE_KEY", code="chain.no-key"
    )


def _deployment(
    settings: Settings,
    db: Database,
    backend: Backend,
    account: LocalAccount,
    tx: Transactor,
    notes: list[str],
) -> tuple[RegistryClient, Deployment]:
    chain_id = int(backend.w3.eth.chain_id)
    with db.session() as s:
        row = s.get(DeploymentRow, chain_id)
        recorded = Deployment.from_json(json.loads(row.document)) if row else None
    if recorded is not None and backend.name != "embedded":
        return attach(backend.w3, recorded, tx), recorded
    if backend.name == "rpc":
        from provenance.chain.deploy import load_deployment

        recorded = load_deployment(settings.deployments_dir, chain_id)
        client = attach(backend.w3, recorded, tx)
    else:
        client, recorded = deploy(backend.w3, account, transactor=tx)
        path = save_deployment(settings.data_dir / "deployments", recorded)
        notes.append(
            f"deployed ProvenanceRegistry at {client.address} (chain {chain_id}); recorded in {path}"
        )
    with db.session() as s:
        s.merge(
            DeploymentRow(
                chain_id=chain_id,
                address=recorded.address,
                deploy_block=recorded.deploy_block,
                document=json.dumps(recorded.to_json()),
            )
        )
    return client, recorded


def _log_signer(settings: Settings, password: str, notes: list[str]) -> LogSigner:
    path = settings.keys_dir / f"{LOG_KEY}.pem"
    if not path.exists():
        _, key = new_log_key(settings.keys_dir, LOG_KEY, password)
        signer = LogSigner(settings.log_origin, key)
        (settings.keys_dir / f"{LOG_KEY}.vkey").write_text(signer.verifier_key() + "\n")
        notes.append(f"created log key {path} (Ed25519, PKCS#8 encrypted)")
        return signer
    return LogSigner(settings.log_origin, load_log_key(path, password))


def _vouch_for_log_key(
    client: RegistryClient, signer: LogSigner, account: LocalAccount, notes: list[str]
) -> None:
    """Record the log key in the registry, where verifiers pin it (the owner's call)."""
    key = signer.verifier_key()
    if client.is_log_key(key):
        return
    if client.owner() != account.address:
        notes.append(
            f"the registry does not vouch for this ledger's log key yet: its owner runs "
            f"`provenance chain set-log-key '{key}'`; until then checkpoint-mode bundles do not verify"
        )
        return
    client.set_log_key(key, True, account)
    notes.append(f"log key {key.split('+')[0]} recorded in the registry")


def _dev_source(settings: Settings, ledger: Ledger, password: str, notes: list[str]) -> str:
    path = settings.keys_dir / f"{DEV_SOURCE}.json"
    if not path.exists():
        info = new_source_key(settings.keys_dir, DEV_SOURCE, password)
        notes.append(f"created development source key {path} ({info.public})")
    address = ledger.source_address(DEV_SOURCE)
    try:
        ledger.register_source(address, "development source", keystore=DEV_SOURCE)
    except ConflictError as e:  # revoked through the API: revocation is final, the ledger still starts
        notes.append(f"the development source {address} is revoked ({e.code}); its datasets take no uploads")
    return address


def open_service(settings: Settings) -> Service:
    """Open (and on first start, create) everything the ledger needs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    password = settings.secret(settings.key_password, "PROVENANCE_KEY_PASSWORD", DEV_KEY_PASSWORD)
    if settings.key_password is None:
        settings = settings.model_copy(update={"key_password": SecretStr(password)})
    db = Database(settings.database_url or sqlite_url(settings.data_dir))
    db.migrate()
    backend = open_backend(settings)
    try:
        account = backend.accounts[0]
        tx = Transactor(backend.w3)
        client, deployment = _deployment(settings, db, backend, account, tx, notes)
        if not client.is_anchorer(account.address):
            client.set_anchorer(account.address, True, account)
        signer = _log_signer(settings, password, notes)
        _vouch_for_log_key(client, signer, account, notes)
        verifier = ChainVerifier(Web3Reads(backend.w3), confirmations=settings.confirmations)
        chain = ChainLink(client, verifier, deployment)
        ledger = Ledger(settings, db, Domain(client.chain_id, client.address), signer, chain)
        ledger.snapshots.discard_stale()
        ledger.upload_folder()  # and uploads left by a killed process
        pool = ledger.intake.pool = IngestPool(settings.ingest_workers)
        threading.Thread(target=pool.warm, name="warm-ingest-workers", daemon=True).start()
        worker = AnchorWorker(
            ledger,
            client,
            account,
            checkpoint_every=settings.checkpoint_every,
            checkpoint_interval=settings.checkpoint_interval,
            confirmations=settings.confirmations,
            deploy_block=deployment.deploy_block,
            audit_interval=settings.audit_snapshot_interval,
        )
        service = Service(settings, db, backend, client, account, deployment, ledger, worker, notes)
        if settings.environment == "development" and settings.bootstrap:
            _dev_source(settings, ledger, password, notes)
            if settings.load_sample:
                _load_sample(ledger, notes)
        return service
    except BaseException:
        backend.close()
        db.close()
        raise


def open_prover(settings: Settings) -> Prover:
    """Read access to a ledger's data directory, without its chain or worker (exports).

    Raises:
        NotFoundError: no ledger database there.
    """
    url = settings.database_url or sqlite_url(settings.data_dir)
    if settings.database_url is None and not (settings.data_dir / "ledger.sqlite3").exists():
        raise NotFoundError(f"no ledger in {settings.data_dir}", code="config.no-ledger")
    password = settings.secret(settings.key_password, "PROVENANCE_KEY_PASSWORD", DEV_KEY_PASSWORD)
    db = Database(url)
    signer = _log_signer(settings, password, [])
    return Prover(db, SnapshotRepository(db), LogRepository(db), OutboxRepository(db), signer)


def _load_sample(ledger: Ledger, notes: list[str]) -> None:
    ledger.create_dataset(SAMPLE_DATASET, SAMPLE_SCHEMA, anchor_mode="checkpoint", signing_key=DEV_SOURCE)
    if not ledger.versions(SAMPLE_DATASET):
        result = ledger.ingest(SAMPLE_DATASET, SAMPLE, created_at=1764288000)
        notes.append(
            f"loaded {SAMPLE.name} as {SAMPLE_DATASET} v{result.snapshot.version} "
            f"({result.snapshot.size} records, root {result.snapshot.root.hex()})"
        )
