"""Opening the project's SQLite files (the index manifest, feedback) the same way everywhere.

WAL mode, so readers never wait for a writer, and a busy timeout, so writers queue instead of failing. One
gap in SQLite needs handling here: switching a new file to WAL mode takes an exclusive lock that SQLite does
not wait for (the busy timeout does not apply), so two connections opening a fresh file at once would see
"database is locked". :func:`connect` retries that step until the busy timeout instead.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

__all__ = ["BUSY_TIMEOUT_S", "connect"]

BUSY_TIMEOUT_S = 30.0


def connect(
    path: Path, schema: str, *, user_version: int = 0, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with ``schema`` (idempotent DDL) applied.

    :param user_version: recorded in the file's ``user_version`` when it differs.
    :param check_same_thread: ``False`` when the caller guards the connection with its own lock.
    :raises sqlite3.DatabaseError: the file is damaged or stays locked for longer than the busy timeout.
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=check_same_thread)
    try:
        _prepare(conn, schema, user_version)
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(conn: sqlite3.Connection, schema: str, user_version: int) -> None:
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(schema)
            if user_version:
                (version,) = conn.execute("PRAGMA user_version").fetchone()
                if version != user_version:
                    conn.execute(f"PRAGMA user_version={int(user_version)}")
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _locked(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message
