"""Documents added through the app: checked, saved in the uploads folder, removed again.

Only uploads can be removed here: the corpus and configured source folders are the user's own files.

With a database (``CMO_ASSISTANT_DATABASE_URL``), the originals are kept in it as well, and it is the truth: each
replica's uploads folder is made to mirror it before every ingest (:meth:`UploadFolder.sync`), so an upload on
one replica is indexed (and kept) by the ingests of all, and its original can be shown by any of them. Files a
data dir held before the database was configured are copied into it once.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from pathlib import Path

import sqlalchemy as sa

from assistant import database
from assistant.config import Settings
from assistant.errors import DocumentError, QuestionError, StoreError, disk_trouble
from assistant.files import write_atomic
from assistant.ingest.isolation import IsolatedReader
from assistant.ingest.manifest import Manifest
from assistant.ingest.readers import SourceFile, supported_suffixes

_METADATA = sa.MetaData()
_UPLOADS = sa.Table(
    "uploads",
    _METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("uploaded_at", sa.Float, nullable=False),
)
#: In an uploads folder: its files were copied into the database (done once, when one is first configured).
MIGRATED_MARK = ".in-database"


def safe_filename(name: str) -> str:
    """The last path component of ``name``, NFC-normalised, with anything but letters, digits, ``.-_`` and
    spaces replaced; never hidden, never empty, at most 120 characters."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[: 120 - len(suffix) - 1] or "document"
    return f"{stem}{dot}{suffix}"


class UploadFolder:
    """The folder of uploaded documents (``<data dir>/uploads``), always one of the indexed sources."""

    def __init__(self, settings: Settings, manifest: Manifest) -> None:
        self.settings = settings
        self.manifest = manifest
        self.folder = settings.uploads_dir

    @property
    def shared(self) -> bool:
        return bool(self.settings.database_url)

    def save(self, filename: str, data: bytes) -> Path:
        """Check an uploaded document and save it (in the database first, when there is one); the caller then
        ingests.

        :raises QuestionError: the name, type, size or content is not acceptable, or the same content is indexed
            already under another name (nothing is written then).
        """
        name = safe_filename(filename)
        self._check(name, data)
        if self.shared:
            self.sync()  # files this folder had before the database are in it first (never taken for new)
            row = {"name": name, "data": data, "sha256": _sha(data), "uploaded_at": time.time()}
            with self._database() as engine, engine.begin() as conn:
                database.upsert(conn, _UPLOADS, [row], ["name"])
        self._write(name, data)
        return self.folder / name

    def _write(self, name: str, data: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / name, data)
        except OSError as exc:
            raise StoreError(
                f"{name} could not be saved in {self.folder} ({exc.strerror or exc}); nothing was added. Free "
                "some disk space and upload it again."
            ) from None

    def original(self, doc_id: str) -> bytes | None:
        """The uploaded file's bytes as kept in the database (None: no database, or not an upload)."""
        prefix = f"{self.folder.name}/"
        if not self.shared or not doc_id.startswith(prefix):
            return None
        with self._database() as engine, engine.connect() as conn:
            data = conn.execute(
                sa.select(_UPLOADS.c.data).where(_UPLOADS.c.name == doc_id.removeprefix(prefix))
            ).scalar()
        return bytes(data) if data is not None else None

    def sync(self) -> None:
        """Make the uploads folder mirror the database's uploads (nothing without a database). The first time,
        files already in the folder are copied into the database instead of being deleted."""
        if not self.shared:
            return
        with self._database() as engine:
            if not (self.folder / MIGRATED_MARK).exists():
                self._migrate(engine)
            with engine.connect() as conn:
                kept = dict(conn.execute(sa.select(_UPLOADS.c.name, _UPLOADS.c.sha256)).tuples().all())
            local = {p.name: p for p in self._files()}
            for name, path in local.items():
                if name not in kept:
                    path.unlink(missing_ok=True)
            for name, sha in kept.items():
                if name in local and _sha(local[name].read_bytes()) == sha:
                    continue
                with engine.connect() as conn:
                    data = conn.execute(sa.select(_UPLOADS.c.data).where(_UPLOADS.c.name == name)).scalar()
                if data is not None:
                    self._write(name, bytes(data))

    def _migrate(self, engine: sa.Engine) -> None:
        rows = [
            {"name": p.name, "data": data, "sha256": _sha(data), "uploaded_at": p.stat().st_mtime}
            for p in self._files()
            if (data := p.read_bytes())
        ]
        with engine.begin() as conn:
            present = set(conn.execute(sa.select(_UPLOADS.c.name)).scalars().all())
            fresh = [r for r in rows if r["name"] not in present]
            if fresh:
                conn.execute(sa.insert(_UPLOADS), fresh)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / MIGRATED_MARK, b"uploads copied into the database\n")
        except OSError as exc:
            raise StoreError(
                f"Cannot write in {self.folder} ({exc.strerror or exc}). Free some disk space and try again."
            ) from None

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")]

    def _database(self) -> _Guarded:
        return _Guarded(self.settings.database_url)

    def _check(self, name: str, data: bytes) -> None:
        if Path(name).suffix.lower() not in supported_suffixes():
            raise QuestionError(
                f"{name}: unsupported file type; upload one of {', '.join(supported_suffixes())}."
            )
        if len(data) > self.settings.max_file_bytes:
            raise QuestionError(
                f"{name} is {len(data) / 1048576:.1f} MB, above the {self.settings.max_file_mb:g} MB limit."
            )
        if not data.strip():
            raise QuestionError(f"{name} is empty.")
        # Read before saving: a file that cannot be indexed must not stay in the folder, failing every ingest.
        source = SourceFile(self.folder / name, self.folder, f"{self.folder.name}/{name}")
        try:
            with IsolatedReader(self.settings) as reader:
                reader.load(source, data)
        except DocumentError as exc:
            raise QuestionError(f"{name}: {exc.reason}.") from None
        sha = _sha(data)
        for record in self.manifest.documents().values():
            if record.sha256 == sha and record.doc_id != source.doc_id and Path(record.source_path).is_file():
                raise QuestionError(
                    f"{name} has the same content as {record.doc_id}, which is indexed already."
                )

    def doc_id(self, filename: str) -> str:
        """The document id an upload named ``filename`` gets."""
        return f"{self.folder.name}/{safe_filename(filename)}"

    def unindexed(self) -> list[str]:
        """Uploads saved in the folder but not in the index (the app stopped between saving and indexing)."""
        if not self.folder.is_dir():
            return []
        indexed = self.manifest.documents()
        ids = (f"{self.folder.name}/{p.name}" for p in self.folder.iterdir() if not p.name.startswith("."))
        return sorted(
            doc_id for doc_id in ids if doc_id not in indexed and (self.folder.parent / doc_id).is_file()
        )

    def remove(self, doc_id: str) -> None:
        """Delete an uploaded document's file (and its original in the database); the caller then ingests.

        :raises QuestionError: ``doc_id`` is not an uploaded document.
        """
        self.sync()  # an upload made on another replica can be removed here too
        prefix = f"{self.folder.name}/"
        path = (self.folder / doc_id.removeprefix(prefix)).resolve()
        if not doc_id.startswith(prefix) or path.parent != self.folder.resolve() or not path.is_file():
            raise QuestionError(f"{doc_id} is not an uploaded document; only uploads can be removed here.")
        if self.shared:
            with self._database() as engine, engine.begin() as conn:
                conn.execute(sa.delete(_UPLOADS).where(_UPLOADS.c.name == path.name))
        path.unlink()


class _Guarded:
    """The uploads table's database, its errors turned into a StoreError that says what to do."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> sa.Engine:
        try:
            return database.open_database(self.url, _METADATA)
        except database.DatabaseError as exc:
            raise self._error(exc) from None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, database.DatabaseError):
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> StoreError:
        if disk_trouble(exc):
            return StoreError(
                f"Cannot write uploaded documents to the database {database.display(self.url)}: the disk is full "
                "or failing. Free some space and upload again; nothing was added."
            )
        return StoreError(
            f"Cannot use the database {database.display(self.url)} for uploaded documents "
            f"({type(exc).__name__}). Check that it is running and reachable and that "
            "CMO_ASSISTANT_DATABASE_URL is right, then try again; nothing was changed."
        )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
