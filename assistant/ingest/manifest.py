"""What was ingested: one SQLite row per document (hash, chunk ids, when) and a few index-wide facts.

The store is the truth about which chunks exist; the manifest lets an unchanged file be skipped without
reading it twice, and tells `stats` what is in the index. Every write is its own transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant import database
from assistant.errors import StoreError, disk_trouble

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    ingested_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    title: str
    kind: str
    source_path: str
    sha256: str
    chunk_ids: tuple[str, ...]
    ingested_at: float


class Manifest:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    @property
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = database.connect(self.path, _SCHEMA)
            except (sqlite3.DatabaseError, OSError) as exc:
                raise self._error(exc) from None
            self._local.db = db
        return db

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite errors become a StoreError that says what to do (a damaged file can be anywhere in it)."""
        try:
            yield
        except (sqlite3.DatabaseError, OSError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> StoreError:
        if disk_trouble(exc):
            return StoreError(
                f"Cannot write the index manifest {self.path} ({exc}): the disk is full or failing. Free some "
                "space and run the same command again; what was indexed before is kept."
            )
        return StoreError(
            f"The index manifest {self.path} is damaged ({exc}). Rebuild the index with "
            "`cmo-assistant ingest --rebuild`."
        )

    def documents(self) -> dict[str, DocumentRecord]:
        with self._guard():
            rows = self._db.execute(
                "SELECT doc_id, title, kind, source_path, sha256, chunk_ids, ingested_at FROM documents "
                "ORDER BY doc_id"
            ).fetchall()
        return {
            r[0]: DocumentRecord(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), float(r[6]))
            for r in rows
        }

    def committed_ids(self) -> set[str]:
        """Ids of every passage of every recorded document: what questions may see."""
        return {cid for record in self.documents().values() for cid in record.chunk_ids}

    def has_documents(self) -> bool:
        """Whether any document is recorded (one row read, nothing parsed)."""
        with self._guard():
            return self._db.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None

    def put(self, record: DocumentRecord) -> None:
        with self._guard(), self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.doc_id,
                    record.title,
                    record.kind,
                    record.source_path,
                    record.sha256,
                    json.dumps(list(record.chunk_ids)),
                    record.ingested_at,
                ),
            )

    def delete(self, doc_id: str) -> None:
        with self._guard(), self._db:
            self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def clear(self) -> None:
        """Forget every document (``ingest --rebuild``). A damaged file is replaced by a new, empty one."""
        try:
            with self._guard(), self._db:
                self._db.execute("DELETE FROM documents")
                self._db.execute("DELETE FROM meta")
        except StoreError:
            db = getattr(self._local, "db", None)
            if db is not None:
                db.close()
                self._local.db = None
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def get_meta(self, key: str, default: str = "") -> str:
        with self._guard():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, **values: str) -> None:
        with self._guard(), self._db:
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    def bump_generation(self) -> None:
        """Mark that the index content changed, so readers rebuild what they derived from it (BM25)."""
        self.set_meta(generation=f"{time.time():.6f}")

    @property
    def generation(self) -> str:
        return self.get_meta("generation")
