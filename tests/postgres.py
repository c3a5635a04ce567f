"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` package, started once a session.

`pg_url` (tests/conftest.py) runs initdb and pg_ctl into a fresh folder, on a free port on loopback,
with trust authentication for the `postgres` user only on 127.0.0.1 (the server dies with the
session). initdb refuses to run as root, so as root the cluster belongs to the `postgres` user the
Debian package creates (`runuser -u postgres`), in a folder of its own under the system temp
folder: pytest's tmp_path is private to root. Each test then gets a database of its own
(`fresh_database`). Without the binaries the tests skip, except in CI (`CI=true`), where .ci/run
installs them and a missing server fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

IN_CI = os.environ.get("CI") == "true"
USER = "postgres"


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One server: `start()`, `url`, `stop()`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="qa-test-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.url = f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        if self.as_root:
            account = pwd.getpwnam(USER)  # KeyError: the package (which creates the user) is missing
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
        # fsync off: a test server that forgets everything when the machine crashes is fine.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def fresh_database(server_url: str) -> tuple[str, callable]:
    """A new, empty database on the server; returns its URL and a function that drops it."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return server_url.rsplit("/", 1)[0] + f"/{name}", drop


def rows(target: str, sql: str, params=()) -> list[tuple]:
    """Run one statement on either backend (a path or a PostgreSQL URL) and return its rows."""
    from qa.questionlog.backend import connect

    conn = connect(str(target), 5.0)
    try:
        cur = conn.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description is not None else []
    finally:
        conn.close()
