"""The search stages' interfaces. Each has one implementation today; any object with these methods can replace it
(``build_stages(settings, store=..., reranker=...)``), no subclassing needed.

- :class:`VectorStore`: passages with one vector each, and one vector per sentence or list item (Chroma).
- :class:`Retriever`: a Query -> ranked passages (hybrid BM25 + dense).
- :class:`Reranker`: reorders the retrieved passages before the answerer sees them (identity by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from assistant.types import Chunk, Filters, Query, Retrieval, ScoredChunk

if TYPE_CHECKING:
    from assistant.search.corpus_index import CorpusIndex

#: Which retrievers run: both (the default), or one of them (the eval's ablation).
Mode = Literal["hybrid", "dense", "bm25"]


class VectorStore(Protocol):
    """Where passages and their vectors live. Ids are content hashes, so writes are idempotent."""

    def exists(self) -> bool:
        """Whether an index with at least one passage is there (creates nothing)."""
        ...

    def count(self) -> int: ...

    def reset(self) -> None:
        """Drop everything (``ingest --rebuild``)."""
        ...

    def add(
        self, chunks: Sequence[Chunk], chunk_vectors: np.ndarray, unit_vectors: Sequence[np.ndarray]
    ) -> None:
        """Upsert passages with their vectors and one vector per unit of each (units first)."""
        ...

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None: ...

    def delete_document(self, doc_id: str) -> None: ...

    def all_chunks(self) -> list[Chunk]: ...

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]: ...

    def ids(self, doc_id: str | None = None) -> set[str]: ...

    def present(self, chunk_ids: Sequence[str]) -> set[str]: ...

    def doc_chunk_ids(self) -> dict[str, set[str]]:
        """Passage ids grouped by document, read from the store itself (to repair after a crash)."""
        ...

    def unit_chunk_ids(self) -> set[str]:
        """Ids of the passages that have unit vectors stored."""
        ...

    def nearest(self, vector: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """Ids of the ``n`` nearest passages with their cosine similarity, best first."""
        ...

    def unit_vectors(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        """Per passage id, its unit vectors stacked in unit order (passages missing any are left out)."""
        ...

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vector of each passage that has one, read back (``stats --verify``; a small index is
        searched exactly in memory with them, see :mod:`assistant.search.dense`)."""
        ...


@runtime_checkable
class Retriever(Protocol):
    def retrieve(
        self, query: Query, index: CorpusIndex, top_k: int | None = None, mode: Mode = "hybrid"
    ) -> Retrieval:
        """The best passages for ``query`` among the committed ones in ``index``, best first."""
        ...


class Reranker(Protocol):
    def rerank(self, query: Query, passages: Sequence[ScoredChunk]) -> tuple[ScoredChunk, ...]:
        """The same passages (or fewer), in the order the answerer should prefer them."""
        ...


class IdentityReranker:
    """The default: keeps retrieval's order (no cross-encoder can be installed offline here)."""

    def rerank(self, query: Query, passages: Sequence[ScoredChunk]) -> tuple[ScoredChunk, ...]:
        return tuple(passages)
