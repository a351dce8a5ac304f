"""What was ingested: one row per document (hash, chunk ids, when) and a few index-wide facts (the generation).

The store is the truth about which chunks exist; the manifest lets an unchanged file be skipped without
reading it twice, tells `stats` what is in the index, and tells every process (every replica, with a shared
database) which passages are committed and when that changed. Every write is its own transaction. By default
it is the SQLite file ``<data dir>/manifest.sqlite3``; with ``CMO_ASSISTANT_DATABASE_URL``, tables in that
database (:mod:`assistant.database`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from assistant import database
from assistant.errors import StoreError, disk_trouble

_METADATA = sa.MetaData()
_DOCUMENTS = sa.Table(
    "documents",
    _METADATA,
    sa.Column("doc_id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("source_path", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("chunk_ids", sa.Text, nullable=False),
    sa.Column("ingested_at", sa.Float, nullable=False),
)
_META = sa.Table(
    "meta",
    _METADATA,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


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
    def __init__(self, location: Path | str) -> None:
        """
        :param location: a SQLite file, or a database URL (``postgresql://...``, ``sqlite:///...``).
        """
        self.path, self.url = database.locate(location)
        self.where = database.display(self.url)
        #: the generation is read on every question: on a SQLite file, through a connection kept open
        self._kept = database.KeptConnection(self.path) if self.path is not None else None

    @property
    def _db(self) -> sa.Engine:
        with self._guard():
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            return database.open_database(self.url, _METADATA)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Database errors become a StoreError that says what to do (a damaged file can be anywhere in it)."""
        try:
            yield
        except (database.DatabaseError, sqlite3.DatabaseError, OSError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> StoreError:
        if disk_trouble(exc):
            return StoreError(
                f"Cannot write the index manifest {self.where} ({exc}): the disk is full or failing. Free some "
                "space and run the same command again; what was indexed before is kept."
            )
        if self.path is None:
            return StoreError(
                f"Cannot use the index's database {self.where} ({type(exc).__name__}: {_first_line(exc)}). "
                "Check that it is running and reachable and that CMO_ASSISTANT_DATABASE_URL is right, then try "
                "again."
            )
        return StoreError(
            f"The index manifest {self.where} is damaged ({_first_line(exc)}). Rebuild the index with "
            "`cmo-assistant ingest --rebuild`."
        )

    def documents(self) -> dict[str, DocumentRecord]:
        with self._guard(), self._db.connect() as conn:
            rows = conn.execute(sa.select(_DOCUMENTS).order_by(_DOCUMENTS.c.doc_id)).all()
        return {
            r[0]: DocumentRecord(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), float(r[6]))
            for r in rows
        }

    def committed_ids(self) -> set[str]:
        """Ids of every passage of every recorded document: what questions may see."""
        with self._guard(), self._db.connect() as conn:
            rows = conn.execute(sa.select(_DOCUMENTS.c.chunk_ids)).scalars().all()
        return {cid for ids in rows for cid in json.loads(ids)}

    def has_documents(self) -> bool:
        """Whether any document is recorded (one row read, nothing parsed)."""
        with self._guard(), self._db.connect() as conn:
            return conn.execute(sa.select(_DOCUMENTS.c.doc_id).limit(1)).first() is not None

    def put(self, record: DocumentRecord) -> None:
        row = {
            "doc_id": record.doc_id,
            "title": record.title,
            "kind": record.kind,
            "source_path": record.source_path,
            "sha256": record.sha256,
            "chunk_ids": json.dumps(list(record.chunk_ids)),
            "ingested_at": record.ingested_at,
        }
        with self._guard(), self._db.begin() as conn:
            database.upsert(conn, _DOCUMENTS, [row], ["doc_id"])

    def delete(self, doc_id: str) -> None:
        with self._guard(), self._db.begin() as conn:
            conn.execute(sa.delete(_DOCUMENTS).where(_DOCUMENTS.c.doc_id == doc_id))

    def clear(self) -> None:
        """Forget every document (``ingest --rebuild``). A damaged file is replaced by a new, empty one."""
        try:
            with self._guard(), self._db.begin() as conn:
                conn.execute(sa.delete(_DOCUMENTS))
                conn.execute(sa.delete(_META))
        except StoreError:
            if self.path is None:
                raise
            database.forget(self.url)
            if self._kept is not None:
                self._kept.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def get_meta(self, key: str, default: str = "") -> str:
        with self._guard(), self._db.connect() as conn:
            value = conn.execute(sa.select(_META.c.value).where(_META.c.key == key)).scalar()
        return str(value) if value is not None else default

    def set_meta(self, **values: str) -> None:
        with self._guard(), self._db.begin() as conn:
            database.upsert(conn, _META, [{"key": k, "value": v} for k, v in values.items()], ["key"])

    def bump_generation(self) -> None:
        """Mark that the index content changed, so readers rebuild what they derived from it (BM25)."""
        self.set_meta(generation=f"{time.time():.6f}")

    @property
    def generation(self) -> str:
        """The current index generation ("" before the first ingest); every question reads it."""
        kept = self._kept
        if kept is not None:
            with self._guard():
                rows = kept.rows("SELECT value FROM meta WHERE key = ?", ("generation",))
            if rows is not None:
                return str(rows[0][0]) if rows else ""
        value = self.get_meta("generation")
        if kept is not None:
            with self._guard():
                kept.keep()
        return value


def _first_line(exc: BaseException) -> str:
    """A library error's first line (SQLAlchemy appends the SQL and a link to its docs)."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
