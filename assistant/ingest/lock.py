"""One writer at a time per data dir: an advisory lock (``flock``) shared by the CLI and the app.

Two processes writing the same embedded index at once corrupt it silently; the second writer is told instead,
with the first one's process id, and nothing is written. Readers (questions) never take the lock. A lock file
is per host: with a PostgreSQL database (replicas on several hosts, one Chroma server), the writer also takes
the database's advisory lock, so one replica writes at a time; a replica that dies releases it with its
connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from assistant import database
from assistant.errors import IndexStateError, StoreError

LOCK_NAME = "write.lock"


class WriterBusyError(IndexStateError):
    """Another process is writing to the index."""


@contextlib.contextmanager
def writer_lock(data_dir: Path, database_url: str = "") -> Iterator[None]:
    """Hold the data dir's write lock (and the database's, with a PostgreSQL ``database_url``) for the block, or
    raise WriterBusyError at once if another process (or replica) holds it."""
    with _host_lock(data_dir), _database_lock(database_url):
        yield


@contextlib.contextmanager
def _database_lock(url: str) -> Iterator[None]:
    if not url:
        yield
        return
    with contextlib.ExitStack() as stack:
        try:
            taken = stack.enter_context(database.advisory_lock(url, "writer"))
        except database.DatabaseError as exc:
            raise StoreError(
                f"Cannot reach the database {database.display(url)} to take the writer lock "
                f"({type(exc).__name__}). Check that it is running and that CMO_ASSISTANT_DATABASE_URL is right; "
                "nothing was changed."
            ) from None
        if not taken:
            raise WriterBusyError(
                f"Another replica is writing to the index (it holds the writer lock in {database.display(url)}); "
                "two writers at once would damage it. Wait for it to finish, then run this again (nothing was "
                "changed)."
            )
        yield


@contextlib.contextmanager
def _host_lock(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WriterBusyError(
                f"{holder} is writing to the index in {data_dir}; two writers at once would damage it. Wait "
                "for it to finish, then run this again (nothing was changed)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
