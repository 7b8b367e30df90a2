"""Engines and sessions for SQLite (default, WAL) and PostgreSQL, and schema migration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from provenance.errors import StorageError, StorageFull

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'ledger.sqlite3'}"


def make_engine(url: str) -> Engine:
    """An engine with the settings this store relies on."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # A pool as large as the server's thread pool: opening a connection runs the pragmas
        # below (and allocates its page cache), which must not happen per request.
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=40, max_overflow=10
        )

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _: Any) -> None:
            cur = conn.cursor()
            # 16 KiB pages (for a new database; fixed once written): a record block is a few
            # pages instead of a chain of overflow pages.
            cur.execute("PRAGMA page_size=16384")
            # WAL: readers never block the writer; NORMAL is durable against process crashes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint the WAL every ~64 MiB rather than every 16 MiB: a bulk ingest writes
            # hundreds of MiB, and each checkpoint ends with an fsync on the critical path.
            cur.execute("PRAGMA wal_autocheckpoint=4096")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Reads go through a shared memory map (the OS page cache, not one cache per
            # connection); each connection keeps a modest private page cache.
            cur.execute("PRAGMA cache_size=-16384")
            cur.execute("PRAGMA mmap_size=4294967296")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as e:
        raise StorageError(f"database migration failed: {e}", code="storage.migration") from e


class Database:
    """An engine, its session factory, and a unit-of-work helper."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except OperationalError as e:
            session.rollback()
            if _is_full(e):
                raise StorageFull(
                    "the server's disk is full: the database took nothing of this request; "
                    "retry once space is freed"
                ) from e
            raise StorageError(f"database unavailable: {e.orig}", code="storage.unavailable") from e
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> str:
        """ "ok", or why the database does not answer."""
        try:
            with self.session() as s:
                s.execute(text("SELECT 1"))
        except StorageError as e:
            return e.message
        return "ok"

    def close(self) -> None:
        self.engine.dispose()


def _is_full(e: OperationalError) -> bool:
    """SQLite's SQLITE_FULL, or PostgreSQL's disk_full (SQLSTATE 53100)."""
    return getattr(e.orig, "sqlstate", None) == "53100" or "disk is full" in str(e.orig)
