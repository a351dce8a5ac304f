"""Exact dense search in memory, for an index small enough to hold every passage vector.

One matrix product gives every passage's cosine similarity to the question (vectors are unit length), which for a
few thousand passages takes microseconds, where a query through the vector store's client costs about a
millisecond of call overhead. A larger index is searched by the store (HNSW). The scores are the store's
(the same float32 cosines, within 1e-6); the ranking is exact where HNSW is approximate (on the shipped corpus it
missed one of the 20 nearest passages for one of the eval's 430 questions; the eval figures are the same).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.types import Chunk, Filters

#: Indexes up to this many passages are searched in memory (about 1.5 KB each with the bundled model).
MAX_PASSAGES = 4096


class ExactDense:
    """Passage vectors stacked in one matrix, with each row's kind and document for filtering."""

    def __init__(self, chunks: Sequence[Chunk], vectors: dict[str, np.ndarray]) -> None:
        kept = [c for c in chunks if c.chunk_id in vectors]
        matrix = (
            np.stack([np.asarray(vectors[c.chunk_id], dtype=np.float32) for c in kept])
            if kept
            else np.zeros((0, 0), dtype=np.float32)
        )
        self._set(kept, matrix)

    @classmethod
    def from_matrix(cls, chunks: Sequence[Chunk], matrix: np.ndarray) -> ExactDense:
        """Passage vectors already stacked, one row per passage in ``chunks`` order (from a saved index)."""
        made = cls.__new__(cls)
        made._set(list(chunks), np.asarray(matrix, dtype=np.float32))
        return made

    def _set(self, chunks: list[Chunk], matrix: np.ndarray) -> None:
        self.chunks = chunks
        self.matrix = matrix
        self._kinds = np.array([c.kind for c in chunks])
        self._docs = np.array([c.doc_id for c in chunks])

    def __len__(self) -> int:
        return len(self.chunks)

    def nearest(
        self, vector: np.ndarray, n: int, filters: Filters | None = None
    ) -> list[tuple[Chunk, float]]:
        """The ``n`` passages most similar to ``vector`` (unit length), best first, with their cosine similarity."""
        if not self.chunks or n <= 0:
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        allowed = np.ones(len(scores), dtype=bool)
        if filters is not None and filters.kind:
            allowed &= self._kinds == filters.kind
        if filters is not None and filters.doc_id:
            allowed &= self._docs == filters.doc_id
        candidates = np.flatnonzero(allowed)
        if len(candidates) > n:
            part = np.argpartition(-scores[candidates], n - 1)[:n]
            candidates = candidates[part]
        best = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in best]
