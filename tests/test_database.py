"""The SQLite files (manifest, feedback) when several connections open a new file at the same moment."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from assistant import database
from assistant.manifest import Manifest


def test_a_new_manifest_opened_by_several_threads_at_once_keeps_every_write(tmp_path: Path) -> None:
    # The app's worker threads each open the manifest on their first question; an ingest may create it at the
    # same time. Switching a new file to WAL mode is the step SQLite does not wait for.
    for trial in range(40):
        path = tmp_path / f"manifest-{trial}.sqlite3"
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def write(i: int, path: Path = path, errors: list[BaseException] = errors, start=start) -> None:
            try:
                start.wait()
                Manifest(path).set_meta(**{f"writer{i}": str(i)})
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], f"trial {trial}"
        manifest = Manifest(path)
        assert [manifest.get_meta(f"writer{i}") for i in range(4)] == ["0", "1", "2", "3"]


def test_a_file_that_is_not_a_database_fails_at_once(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"this is not a database file, just text that someone saved here " * 20)
    started = time.monotonic()
    with pytest.raises(sqlite3.DatabaseError):
        database.connect(path, "CREATE TABLE IF NOT EXISTS t (x TEXT);")
    assert time.monotonic() - started < 5  # not retried as if it were locked


def test_the_file_is_in_wal_mode_with_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    database.connect(path, "CREATE TABLE IF NOT EXISTS t (x TEXT);", user_version=3).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (3,)
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
