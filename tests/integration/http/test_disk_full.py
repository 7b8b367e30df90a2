"""#11 faults: the data directory's disk fills up (a small tmpfs) — a clear refusal, nothing lost.

The service's data directory is a tmpfs of a few MiB. Two ways to run out: the upload itself
does not fit (the body is spooled to disk first), or it fits and the database cannot take its
records. Either way the client gets 507 ``storage.full`` with a message that names no server
path, the service keeps serving what it had, no partial version is ever visible, and once space
is freed the same upload goes through and ``provenance fsck`` finds nothing wrong.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.http.conftest import ADMIN, Server, base_env, fsck_report

pytestmark = [pytest.mark.http, pytest.mark.slow]
MiB = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root (CAP_SYS_ADMIN): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A filler file that leaves about ``leave`` bytes free."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler = disk / "filler"
    with filler.open("ab") as f:
        f.truncate(f.tell() + max(0, free - leave))
        f.seek(0, os.SEEK_END)
    # tmpfs allocates on write, not on truncate: write the pages for real
    with filler.open("r+b") as f:
        block = b"\0" * MiB
        for _ in range(max(0, free - leave) // MiB):
            f.write(block)
    return filler


def csv(rows: int, width: int = 40) -> bytes:
    return ("k,v\n" + "".join(f"key-{i},{'x' * width}\n" for i in range(rows))).encode()


def assert_full(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 507, response.text
    body = response.json()
    assert (body["code"], body["detail"]) == ("storage.full", detail), body  # no server path in it


def test_a_full_disk_is_refused_clearly_and_loses_nothing(small_disk: Path) -> None:
    data = small_disk / "data"
    env = {**base_env("embedded"), "PROVENANCE_INGEST_WORKERS": "1"}
    server = Server(data, env).start()
    try:
        spec = {"name": "tm/full", "key": ["k"], "signingKey": "dev-source"}
        assert server.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
        url = "/v1/datasets/tm/full/versions?format=csv"
        assert server.post(url + "&version=1", headers=ADMIN, content=csv(100)).status_code == 201
        before = server.get("/v1/datasets/tm/full/versions/1").json()
        filler = fill(small_disk, leave=2 * MiB)

        # 1. the body does not fit in the upload spool
        spool = "the server's disk is full: the upload was not stored; retry once space is freed"
        assert_full(server.post(url + "&version=2", headers=ADMIN, content=csv(120_000)), spool)
        # 2. the body fits (1.2 MiB), its records and tree do not
        database = (
            "the server's disk is full: the database took nothing of this request; retry once space is freed"
        )
        assert_full(server.post(url + "&version=2", headers=ADMIN, content=csv(24_000)), database)

        assert server.get("/healthz").status_code == 200
        assert [v["version"] for v in server.get("/v1/datasets/tm/full/versions").json()] == [1]
        assert server.get("/v1/datasets/tm/full/versions/2").status_code == 404
        assert server.get("/v1/datasets/tm/full/versions/1").json() == before
        assert server.get("/v1/datasets/tm/full/versions/1/proof?key=key-7").status_code == 200

        filler.unlink()
        r = server.post(url + "&version=2", headers=ADMIN, content=csv(24_000))
        assert r.status_code == 201, r.text
        assert fsck_report(server, "--offline")["clean"]
    finally:
        server.stop()
