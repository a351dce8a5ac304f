"""The project's SQL databases (the index's record, feedback, uploaded originals), through SQLAlchemy: the only
sqlalchemy import.

By default each store is its own SQLite file in the data dir (``manifest.sqlite3``, ``feedback.sqlite3``), as it
always was. With ``CMO_ASSISTANT_DATABASE_URL`` every store's tables live in that one database (PostgreSQL
through psycopg 3 for deployments with several replicas), so every replica shares them.

SQLite files are used in WAL mode, so readers never wait for a writer, with a busy timeout, so writers queue
instead of failing. One gap in SQLite needs handling here: switching a new file to WAL mode takes an exclusive
lock that SQLite does not wait for (the busy timeout does not apply), so two connections opening a fresh file at
once would see "database is locked"; that step is retried until the busy timeout instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

__all__ = [
    "BUSY_TIMEOUT_S",
    "DatabaseError",
    "KeptConnection",
    "advisory_lock",
    "display",
    "forget",
    "is_postgres",
    "open_database",
    "sqlite_url",
    "upsert",
]

BUSY_TIMEOUT_S = 30.0
#: What a failing database raises (connection refused, damaged file, constraint broken, ...).
DatabaseError = sa.exc.SQLAlchemyError

_engines: dict[str, Engine] = {}
_ready: set[tuple[str, int]] = set()
_lock = threading.Lock()
_creating = threading.Lock()


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite file ``path``."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def locate(location: Path | str) -> tuple[Path | None, str]:
    """A store's location, a SQLite file or a database URL: the file (None for a URL) and the URL to open."""
    if isinstance(location, Path):
        return location, sqlite_url(location)
    return None, location


def is_postgres(url: str) -> bool:
    return _parse(url).get_backend_name() == "postgresql"


def _parse(url: str) -> URL:
    # "postgres://" is what Heroku-style settings say; SQLAlchemy knows it only as "postgresql://"
    return make_url(
        "postgresql://" + url.removeprefix("postgres://") if url.startswith("postgres://") else url
    )


def display(url: str) -> str:
    """``url`` fit to show: the password hidden, a SQLite file shown as its path."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def open_database(url: str, metadata: sa.MetaData, *, user_version: int = 0) -> Engine:
    """The engine for ``url`` (one per process), with the tables of ``metadata`` created when missing.

    :param user_version: recorded in a SQLite file's ``user_version`` when it differs.
    :raises DatabaseError: the database cannot be reached or used (a damaged file, a refused connection).
    """
    engine = _engine(url)
    key = (url, id(metadata))
    if key in _ready:
        return engine
    if engine.dialect.name == "sqlite":
        with _creating:  # this process's threads one at a time; other processes: retried below
            _retry_locked(lambda: _create_sqlite(engine, metadata, user_version))
    else:
        with engine.begin() as conn:
            # Replicas starting together: one creates the tables, the others wait and find them.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key("schema")})
            metadata.create_all(conn)
    _ready.add(key)
    return engine


def upsert(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows`` into ``table``, replacing any row with the same ``keys``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(table)
        changed = {c.name: pg.excluded[c.name] for c in table.columns if c.name not in keys}
        conn.execute(pg.on_conflict_do_update(index_elements=list(keys), set_=changed), list(rows))
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(table)
    changed = {c.name: lite.excluded[c.name] for c in table.columns if c.name not in keys}
    conn.execute(lite.on_conflict_do_update(index_elements=list(keys), set_=changed), list(rows))


@contextlib.contextmanager
def advisory_lock(url: str, name: str) -> Iterator[bool]:
    """Hold PostgreSQL's session advisory lock ``name`` for the block if no other session holds it.

    Yields whether it was taken (False: another session, any replica, holds it; nothing is waited for). The lock
    goes with the connection, so a process that dies releases it. Other databases have no such lock: True.
    """
    if not is_postgres(url):
        yield True
        return
    key = _lock_key(name)
    with _engine(url).connect() as conn:
        taken = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        conn.commit()
        try:
            yield taken
        finally:
            if taken:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()


def forget(url: str) -> None:
    """Drop the engine of ``url`` (after its SQLite file was deleted: the tables are created again)."""
    with _lock:
        engine = _engines.pop(url, None)
        for key in [k for k in _ready if k[0] == url]:
            _ready.discard(key)
    if engine is not None:
        engine.dispose()


class KeptConnection:
    """A connection kept open on one SQLite file for a read asked very often (every question reads the index
    generation): opening one costs about half a millisecond, a read on an open one microseconds.

    In WAL mode every read sees the latest committed write, as on a new connection. Used only once the file has
    been opened through its engine (which creates the tables), and only while it is the same file: when it is
    missing or was replaced (another inode: a damaged manifest deleted and made again), :meth:`rows` returns
    None and the caller reads through the engine, then calls :meth:`keep` again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any] | None:
        """The rows of ``sql``, or None when no connection is kept on the file as it is now.

        :raises sqlite3.Error: the file cannot be read (damaged).
        """
        current = _file_identity(self.path)
        with self._lock:
            if self._conn is None:
                return None
            if current is None or current != self._file:
                self._close()
                return None
            return self._conn.execute(sql, params).fetchall()

    def keep(self) -> None:
        """Open the connection (after a read through the engine; a no-op while one is open on the same file)."""
        with self._lock:
            current = _file_identity(self.path)
            if current is None or (self._conn is not None and current == self._file):
                return
            self._close()
            uri = f"{self.path.resolve().as_uri()}?mode=rw"  # never creates the file
            self._conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            self._file = current

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = self._file = None


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _lock_key(name: str) -> int:
    """A signed 64-bit key for ``name`` (advisory locks are named by numbers)."""
    digest = hashlib.sha256(f"cmo-assistant:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _engine(url: str) -> Engine:
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _make_engine(url)
        return engine


def _make_engine(url: str) -> Engine:
    parsed = _parse(url)
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 is the driver we ship; SQLAlchemy's default for postgresql:// would be psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            parsed, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args={"connect_timeout": 10}
        )
    # No pool: a SQLite connection costs microseconds to open, and none stays open on a file between uses.
    engine = sa.create_engine(
        parsed,
        poolclass=sa.pool.NullPool,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )
    sa.event.listen(engine, "connect", _on_sqlite_connect)
    return engine


def _on_sqlite_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    def to_wal() -> None:
        (mode,) = dbapi_conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

    _retry_locked(to_wal)


def _create_sqlite(engine: Engine, metadata: sa.MetaData, user_version: int) -> None:
    with engine.begin() as conn:
        metadata.create_all(conn)
        if user_version:
            version = conn.exec_driver_sql("PRAGMA user_version").scalar()
            if version != user_version:
                conn.exec_driver_sql(f"PRAGMA user_version={int(user_version)}")


def _retry_locked(step: Any) -> None:
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            step()
            return
        except (sqlite3.OperationalError, sa.exc.OperationalError) as exc:
            if not _locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _locked(exc: BaseException) -> bool:
    """Another connection held the file, or created the same table a moment before (then checked again)."""
    message = str(exc).lower()
    return "locked" in message or "busy" in message or "already exists" in message
