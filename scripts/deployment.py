"""The production layout on one machine, started by one command (`make deployment`).

PostgreSQL (a fresh schema in the database at --database-url, 127.0.0.1:5432/test by default),
N API processes sharing one port, one anchoring worker that holds the leader lock, and a managed
anvil whose state lives in the data directory. docs/deploy.md says how the same parts spread over
several hosts. Ctrl-C (or SIGTERM) stops everything; the data directory and schema stay.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

EXE = Path(sys.executable).parent / "provenance"


def fresh_schema(database_url: str) -> str:
    """A new schema in ``database_url``'s database, and the URL whose search_path is it."""
    schema = f"provenance_{uuid.uuid4().hex[:8]}"
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{database_url}?options=-csearch_path%3D{schema}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--api-processes", type=int, default=3)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=Path(".data-deployment"))
    args = parser.parse_args()
    url = fresh_schema(args.database_url)
    env = {
        **os.environ,
        "PROVENANCE_DATABASE_URL": url,
        "PROVENANCE_DATA_DIR": str(args.data_dir),
        "PROVENANCE_PORT": str(args.port),
        "PROVENANCE_CHAIN_BACKEND": "anvil",
    }
    print(
        f"PostgreSQL: {url}\nAPI: http://127.0.0.1:{args.port} ({args.api_processes} processes)", flush=True
    )
    command = [str(EXE), "serve", "--workers", str(args.api_processes)]
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
