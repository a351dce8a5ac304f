"""The SQLite files (manifest, feedback): several connections opening a new file at the same moment, damaged
files, and files written by earlier versions."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

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


def one_table() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table("t", metadata, sa.Column("x", sa.Text))
    return metadata


def test_a_file_that_is_not_a_database_fails_at_once(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"this is not a database file, just text that someone saved here " * 20)
    started = time.monotonic()
    with pytest.raises(database.DatabaseError, match="not a database"):
        database.open_database(database.sqlite_url(path), one_table())
    assert time.monotonic() - started < 5  # not retried as if it were locked


def test_the_file_is_in_wal_mode_with_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    database.open_database(database.sqlite_url(path), one_table(), user_version=3)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (3,)
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]


def test_the_files_of_an_existing_data_dir_are_read_as_they_are(tmp_path: Path) -> None:
    """A manifest and a feedback file written before the database layer changed (the same tables, made with
    sqlite3 directly) are read and written without any change to their schema."""
    manifest_path, feedback_path = tmp_path / "manifest.sqlite3", tmp_path / "feedback.sqlite3"
    with closing(sqlite3.connect(manifest_path)) as conn, conn:
        conn.executescript(
            "CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, kind TEXT NOT NULL, "
            "source_path TEXT NOT NULL, sha256 TEXT NOT NULL, chunk_ids TEXT NOT NULL, ingested_at REAL NOT NULL);"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO documents VALUES ('policies/a.md', 'A', 'policy', '/x/a.md', 'abc', '[\"c1\", \"c2\"]', 1.5);"
            "INSERT INTO meta VALUES ('generation', '17.0');"
        )
    with closing(sqlite3.connect(feedback_path)) as conn, conn:
        conn.executescript(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, rating "
            "INTEGER NOT NULL CHECK (rating IN (-1, 1)), question TEXT NOT NULL, answer TEXT NOT NULL, answered "
            "INTEGER NOT NULL, citations TEXT NOT NULL, comment TEXT NOT NULL, history TEXT NOT NULL, user TEXT "
            "NOT NULL);"
            "INSERT INTO feedback VALUES (7, '2026-01-02T03:04:05+00:00', 1, 'q?', 'a [1]', 1, '[]', '', '[]', 'lee');"
        )
    schema = {p: sqlite_schema(p) for p in (manifest_path, feedback_path)}

    manifest = Manifest(manifest_path)
    assert manifest.committed_ids() == {"c1", "c2"} and manifest.generation == "17.0"
    manifest.bump_generation()
    with FeedbackStore(feedback_path) as store:
        assert [(r.id, r.user) for r in store.list()] == [(7, "lee")]
        assert store.record(Answer("next?", "Not in the sources.", False, (), {}), -1) == 8
    assert {p: sqlite_schema(p) for p in schema} == schema


def sqlite_schema(path: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
