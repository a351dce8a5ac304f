"""A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's binaries, initdb + pg_ctl), for the tests that share state
through a database.

As root (CI containers), the cluster belongs to the ``postgres`` system user (PostgreSQL refuses to run as root)
and lives in a folder that user can reach; otherwise it runs as the current user. The tests that need it are
skipped only when the binaries are missing (``make test`` installs them).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from app_process import free_port

HOST = "127.0.0.1"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One cluster: ``start()``, ``create_database()`` (a fresh database per test), ``stop()``."""

    def __init__(self) -> None:
        binaries = bin_dir()
        if binaries is None:
            pytest.skip("PostgreSQL is not installed (/usr/lib/postgresql/*/bin); `make test` installs it")
        self.bin = binaries
        self.port = free_port()
        self.as_user = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="cmo-pg-"))
        self.data = self.root / "cluster"
        self.log = self.root / "server.log"
        if self.as_user is not None:
            entry = pwd.getpwnam(self.as_user)
            os.chmod(self.root, 0o755)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_user is not None:
            command = ["runuser", "-u", self.as_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            pytest.fail(f"{' '.join(args[:1])} failed ({result.returncode}):\n{result.stderr}\n{log}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "cmo", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c fsync=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start"
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://cmo@{HOST}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"cmo_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        deadline = time.monotonic() + 10
        while (self.data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
