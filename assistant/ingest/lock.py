"""One writer at a time per data dir: an advisory lock (``flock``) shared by the CLI and the app.

Two processes writing the same embedded index at once corrupt it silently; the second writer is told instead,
with the first one's process id, and nothing is written. Readers (questions) never take the lock. A lock file
on a Chroma server's data is per host: replicas on several hosts need the server's own coordination.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import IndexStateError

LOCK_NAME = "write.lock"


class WriterBusyError(IndexStateError):
    """Another process is writing to the index."""


@contextlib.contextmanager
def writer_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's write lock for the block, or raise WriterBusyError at once if another process does."""
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
