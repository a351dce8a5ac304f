"""The SQLite files (manifest, feedback) when several connections open a new file at the same moment."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from assistant import database
from assistant.ingest.manifest import Manifest
from assistant.types import Answer
from assistant.web.feedback import FeedbackStore


def errors_at_once(threads: int, work: Callable[[int], object]) -> list[BaseException]:
    """Run ``work(i)`` on ``threads`` threads released together; what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # pragma: no cover - returned to the test
            errors.append(exc)

    started = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return errors


def write_meta(path: Path, i: int) -> None:
    Manifest(path).set_meta(**{f"writer{i}": str(i)})


# Switching a new file to WAL mode is the step SQLite does not wait for; the race is short, so each test repeats
# it on 40 fresh files.
def test_a_new_manifest_opened_by_several_threads_at_once_keeps_every_write(tmp_path: Path) -> None:
    # The app's worker threads each open the manifest on their first question; an ingest may create it at the
    # same time.
    for trial in range(40):
        path = tmp_path / f"manifest-{trial}.sqlite3"
        assert errors_at_once(4, partial(write_meta, path)) == [], f"trial {trial}"
        manifest = Manifest(path)
        assert [manifest.get_meta(f"writer{i}") for i in range(4)] == ["0", "1", "2", "3"]


def test_a_new_feedback_file_rated_in_by_several_workers_at_once_keeps_every_rating(tmp_path: Path) -> None:
    # Several app workers rating their first answer at the same moment.
    def rate(path: Path, i: int) -> None:
        with FeedbackStore(path) as store:
            store.record(Answer(f"question {i}", "Not in the sources.", False, (), {}), 1)

    for trial in range(40):
        path = tmp_path / f"feedback-{trial}.sqlite3"
        assert errors_at_once(4, partial(rate, path)) == [], f"trial {trial}"
        with FeedbackStore(path) as store:
            assert sorted(r.question for r in store.list()) == [f"question {i}" for i in range(4)]


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
