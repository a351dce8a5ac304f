"""``cmo-assistant stats --verify``: every stored vector read back, passages and sentence vectors, and what is
missing or unreadable reported by document.

The manifest says which passages each document has; each is read from the vector store with its vector, and the
sentence (unit) vectors of each passage. A vector is unreadable when the store cannot give it back, or gives back
one with the wrong length, a NaN or infinity, or all zeros (no embedding model makes those).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from assistant.errors import StoreError
from assistant.ingest.manifest import DocumentRecord, Manifest
from assistant.search.protocols import VectorStore


@dataclass(frozen=True)
class DocumentCheck:
    doc_id: str
    passages: int
    sentence_vectors: int
    missing_passages: int = 0
    unreadable_passages: int = 0
    #: passages whose sentence vectors are not all there, or not all readable
    passages_missing_sentence_vectors: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not (
            self.missing_passages
            or self.unreadable_passages
            or self.passages_missing_sentence_vectors
            or self.error
        )

    def describe(self) -> str:
        parts = []
        if self.missing_passages:
            parts.append(f"{self.missing_passages} of {self.passages} passages missing")
        if self.unreadable_passages:
            parts.append(f"{self.unreadable_passages} of {self.passages} passage vectors unreadable")
        if self.passages_missing_sentence_vectors:
            parts.append(f"{self.passages_missing_sentence_vectors} passages missing sentence vectors")
        if self.error:
            parts.append(f"could not be read ({self.error})")
        return f"{self.doc_id}: " + ("; ".join(parts) or "ok")


@dataclass(frozen=True)
class Verification:
    documents: tuple[DocumentCheck, ...]

    @property
    def damaged(self) -> tuple[DocumentCheck, ...]:
        return tuple(d for d in self.documents if not d.ok)

    def summary(self) -> str:
        passages = sum(d.passages for d in self.documents)
        units = sum(d.sentence_vectors for d in self.documents)
        head = f"verified: {passages} passages and {units} sentence vectors of {len(self.documents)} documents read back"
        if not self.damaged:
            return head + "; all readable."
        return "\n".join(
            [head + f"; {len(self.damaged)} documents damaged:", *(f"  {d.describe()}" for d in self.damaged)]
        )


def _readable(vector: np.ndarray, length: int) -> bool:
    return (
        vector.ndim == 1 and len(vector) == length and bool(np.isfinite(vector).all()) and bool(vector.any())
    )


def verify_index(manifest: Manifest, store: VectorStore) -> Verification:
    """Read every passage and sentence vector the manifest accounts for back from ``store``."""
    records = manifest.documents()
    vectors: dict[str, dict[str, np.ndarray]] = {}
    failed: dict[str, DocumentCheck] = {}
    lengths: Counter[int] = Counter()
    for doc_id, record in records.items():
        try:
            vectors[doc_id] = store.chunk_vectors(record.chunk_ids)
        except StoreError as exc:
            failed[doc_id] = DocumentCheck(doc_id, len(record.chunk_ids), 0, error=str(exc)[:200])
            continue
        lengths.update(len(v) for v in vectors[doc_id].values() if v.ndim == 1)
    # the length nearly every vector has is the model's
    length = lengths.most_common(1)[0][0] if lengths else 0
    checks = [
        failed[doc_id] if doc_id in failed else _check(record, vectors[doc_id], length, store)
        for doc_id, record in records.items()
    ]
    return Verification(tuple(checks))


def _check(
    record: DocumentRecord, vectors: dict[str, np.ndarray], length: int, store: VectorStore
) -> DocumentCheck:
    ids = record.chunk_ids
    try:
        chunks = store.get_chunks(ids)
        units = store.unit_vectors(list(chunks.values()))
    except StoreError as exc:
        return DocumentCheck(record.doc_id, len(ids), 0, error=str(exc)[:200])
    missing = sum(1 for cid in ids if cid not in chunks)
    unreadable = sum(
        1 for cid in ids if cid in chunks and not (cid in vectors and _readable(vectors[cid], length))
    )
    without_units = sum(
        1
        for cid, chunk in chunks.items()
        if chunk.units and (cid not in units or not all(_readable(row, length) for row in units[cid]))
    )
    return DocumentCheck(
        record.doc_id,
        len(ids),
        sum(len(u) for u in units.values()),
        missing,
        unreadable,
        without_units,
    )
