"""Documents added through the app: checked, saved in the uploads folder, removed again.

Only uploads can be removed here: the corpus and configured source folders are the user's own files.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from assistant.config import Settings
from assistant.errors import DocumentError, QuestionError, StoreError
from assistant.files import write_atomic
from assistant.ingest.isolation import IsolatedReader
from assistant.ingest.manifest import Manifest
from assistant.ingest.readers import SourceFile, supported_suffixes


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

    def save(self, filename: str, data: bytes) -> Path:
        """Check an uploaded document and save it; the caller then ingests.

        :raises QuestionError: the name, type, size or content is not acceptable, or the same content is indexed
            already under another name (nothing is written then).
        """
        name = safe_filename(filename)
        self._check(name, data)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / name, data)
        except OSError as exc:
            raise StoreError(
                f"{name} could not be saved in {self.folder} ({exc.strerror or exc}); nothing was added. Free "
                "some disk space and upload it again."
            ) from None
        return self.folder / name

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
        sha = hashlib.sha256(data).hexdigest()
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
        """Delete an uploaded document's file; the caller then ingests.

        :raises QuestionError: ``doc_id`` is not an uploaded document.
        """
        prefix = f"{self.folder.name}/"
        path = (self.folder / doc_id.removeprefix(prefix)).resolve()
        if not doc_id.startswith(prefix) or path.parent != self.folder.resolve() or not path.is_file():
            raise QuestionError(f"{doc_id} is not an uploaded document; only uploads can be removed here.")
        path.unlink()
