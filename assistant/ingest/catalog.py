"""What is in the index, for people: the documents with their passages, and one document to read (its text, and
its pages when it has any)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import DocumentError, QuestionError
from assistant.ingest.manifest import Manifest
from assistant.ingest.readers import SourceFile, load, read_bytes
from assistant.ingest.sources import SourceList
from assistant.search.protocols import VectorStore
from assistant.types import Document


def document_text(
    settings: Settings, manifest: Manifest, doc_id: str, original: bytes | None = None
) -> tuple[str, str]:
    """Title and text of an indexed document (see :func:`read_document`)."""
    doc = read_document(settings, manifest, doc_id, original)
    return doc.title, doc.text


def read_document(
    settings: Settings, manifest: Manifest, doc_id: str, original: bytes | None = None
) -> Document:
    """An indexed document as read now (title, text, and its pages when it has any), read through the manifest
    (never an arbitrary path): only a file whose real location (links followed) is inside one of the folders
    the index mirrors is read.

    :param original: the document's bytes as kept in the database (an upload, possibly made on another replica,
        whose file is not on this host); read instead of the file.
    :raises QuestionError: when no indexed document has that id, or it cannot be read or shown.
    """
    record = manifest.documents().get(doc_id)
    if record is None:
        raise QuestionError(f"No indexed document has the id {doc_id!r}.")
    if original is not None:
        name = Path(doc_id).name
        try:
            return load(SourceFile(settings.uploads_dir / name, settings.uploads_dir, doc_id), original)
        except DocumentError as exc:
            raise QuestionError(f"{doc_id} cannot be shown: {exc.reason}.") from None
    path = Path(record.source_path)
    roots = settings.source_roots(SourceList(settings.data_dir).folders())
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a looping link
        real = None
    if real is None or not any(real.is_relative_to(root) for root in roots):
        raise QuestionError(
            f"{doc_id} cannot be shown: its file is outside the folders the index mirrors "
            "(it was moved, or is a link to somewhere else)."
        )
    source = SourceFile(path, path.parent, doc_id)
    try:
        return load(source, read_bytes(source, settings.max_file_bytes))
    except DocumentError as exc:
        raise QuestionError(f"{doc_id} cannot be shown: {exc.reason}.") from None


def index_stats(
    settings: Settings, manifest: Manifest, store: VectorStore, model_name: str
) -> dict[str, Any]:
    """What is in the index: documents, chunks, kinds, model, last ingest."""
    docs = manifest.documents()
    kinds: dict[str, int] = {}
    for record in docs.values():
        kinds[record.kind] = kinds.get(record.kind, 0) + 1
    last = manifest.get_meta("last_ingest_at")
    return {
        "data_dir": str(settings.data_dir),
        "store": settings.store_location,
        "documents": len(docs),
        "chunks": store.count() if docs else 0,
        "kinds": kinds,
        "embedding_model": manifest.get_meta("embedding_model") or model_name,
        "last_ingest": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(last))) if last else None,
        "per_document": [
            {"doc_id": r.doc_id, "title": r.title, "kind": r.kind, "chunks": len(r.chunk_ids)}
            for r in docs.values()
        ],
    }
