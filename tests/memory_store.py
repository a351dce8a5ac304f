"""A toy vector store kept in dicts, implementing the VectorStore protocol without Chroma (for composition tests).

It is deliberately small: the point is that any object with these methods can replace ChromaStore.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.types import Chunk, Filters, Unit


def section_passage(chunk_id: str, doc_id: str, section: tuple[str, ...], text: str, start: int) -> Chunk:
    """A one-sentence policy passage under heading path ``section``, at ``start`` in its document."""
    return Chunk(
        chunk_id,
        doc_id,
        "Title",
        "policy",
        doc_id,
        section,
        text,
        start,
        start + len(text),
        start,
        (Unit(0, len(text), False),),
    )


def indexed(chunks: Sequence[Chunk]) -> MemoryStore:
    """A store holding ``chunks``, each with a vector of its own and one unit vector."""
    store = MemoryStore()
    store.add(
        chunks,
        np.eye(len(chunks), len(chunks), dtype=np.float32),
        [np.eye(1, len(chunks), dtype=np.float32)] * len(chunks),
    )
    return store


def _normalized(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class MemoryStore:
    """Passages, their vectors and their unit vectors in dicts; cosine similarity with numpy."""

    def __init__(self) -> None:
        self.chunks: dict[str, Chunk] = {}
        self.vectors: dict[str, np.ndarray] = {}
        #: per chunk id, its unit vectors stacked in unit order
        self.units: dict[str, np.ndarray] = {}

    def exists(self) -> bool:
        return bool(self.chunks)

    def count(self) -> int:
        return len(self.chunks)

    def reset(self) -> None:
        self.chunks.clear()
        self.vectors.clear()
        self.units.clear()

    def add(
        self, chunks: Sequence[Chunk], chunk_vectors: np.ndarray, unit_vectors: Sequence[np.ndarray]
    ) -> None:
        for chunk, vector, units in zip(chunks, chunk_vectors, unit_vectors, strict=True):
            self.units[chunk.chunk_id] = np.asarray(units, dtype=np.float32)
            self.chunks[chunk.chunk_id] = chunk
            self.vectors[chunk.chunk_id] = _normalized(vector)

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        for cid in chunk_ids:
            self.chunks.pop(cid, None)
            self.vectors.pop(cid, None)
            self.units.pop(cid, None)

    def delete_document(self, doc_id: str) -> None:
        self.delete_chunks(self.ids(doc_id))

    def all_chunks(self) -> list[Chunk]:
        return list(self.chunks.values())

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        return {cid: self.chunks[cid] for cid in chunk_ids if cid in self.chunks}

    def ids(self, doc_id: str | None = None) -> set[str]:
        return {cid for cid, c in self.chunks.items() if doc_id is None or c.doc_id == doc_id}

    def present(self, chunk_ids: Sequence[str]) -> set[str]:
        return {cid for cid in chunk_ids if cid in self.chunks}

    def doc_chunk_ids(self) -> dict[str, set[str]]:
        grouped: dict[str, set[str]] = {}
        for cid, chunk in self.chunks.items():
            grouped.setdefault(chunk.doc_id, set()).add(cid)
        return grouped

    def unit_chunk_ids(self) -> set[str]:
        return set(self.units)

    def nearest(self, vector: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        query = _normalized(vector)
        admitted = [cid for cid, c in self.chunks.items() if filters is None or filters.admits(c)]
        scored = [(cid, float(self.vectors[cid] @ query)) for cid in admitted]
        scored.sort(key=lambda item: -item[1])
        return scored[:n]

    def unit_vectors(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        return {
            c.chunk_id: self.units[c.chunk_id]
            for c in chunks
            if c.chunk_id in self.units and len(self.units[c.chunk_id]) == len(c.units)
        }

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {cid: self.vectors[cid] for cid in chunk_ids if cid in self.vectors}
