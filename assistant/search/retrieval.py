"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused into one ranking, with metadata filters.

Fusion is reciprocal rank fusion by default; a weighted convex combination of min-max normalised scores is the
alternative (``fusion = "weighted"``). The eval suite's ablation compares them (see evals/README.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assistant.config import Settings
from assistant.ingest.manifest import Manifest
from assistant.search.chroma import UNIT_CACHE_CHUNKS, ChromaStore, Where, where_filter
from assistant.search.embeddings import Embedder
from assistant.search.glossary import Glossary
from assistant.search.lexical import LexicalIndex
from assistant.types import Chunk, ScoredChunk

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Retrieval:
    """Passages for one question, plus the question vector the answerer reuses."""

    query: str
    query_vector: np.ndarray
    passages: tuple[ScoredChunk, ...]
    #: time spent embedding the question (part of the retrieval time)
    embed_ms: float = 0.0


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> dict[str, float]:
    """RRF: score(d) = sum over rankings of 1 / (k + rank), ranks starting at 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


def weighted_fusion(
    dense: dict[str, float], lexical: dict[str, float], dense_weight: float
) -> dict[str, float]:
    """Convex combination of min-max normalised scores; a candidate missing from one list gets 0 there."""

    def norm(scores: dict[str, float]) -> dict[str, float]:
        if not scores:
            return {}
        lo, hi = min(scores.values()), max(scores.values())
        span = hi - lo
        return {k: (v - lo) / span if span > 1e-12 else 1.0 for k, v in scores.items()}

    d, b = norm(dense), norm(lexical)
    return {
        key: dense_weight * d.get(key, 0.0) + (1 - dense_weight) * b.get(key, 0.0) for key in set(d) | set(b)
    }


class HybridRetriever:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: ChromaStore,
        glossary: Glossary,
        manifest: Manifest | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.glossary = glossary
        self.manifest = manifest
        self._lexical: LexicalIndex | None = None
        self._lexical_generation: object = None
        self._lock = threading.Lock()

    def lexical(self, generation: object = None) -> LexicalIndex:
        """The BM25 index of the committed chunks, rebuilt from the store when the index generation changed.

        An ingest writes a document's chunks to the store before the manifest records it; only chunks of
        documents the manifest lists are indexed, and (see :meth:`retrieve`) only those are searchable, so no
        answer is built from a document whose ingest has not finished. Without a manifest everything counts.
        """
        with self._lock:
            if self._lexical is None or generation != self._lexical_generation:
                chunks = self.store.all_chunks()
                if self.manifest is not None:
                    committed = {
                        cid for record in self.manifest.documents().values() for cid in record.chunk_ids
                    }
                    chunks = [c for c in chunks if c.chunk_id in committed]
                self._lexical = LexicalIndex(chunks, self.glossary)
                if len(chunks) <= UNIT_CACHE_CHUNKS:
                    # A small index's sentence vectors all fit the store's cache: read them in one go now
                    # rather than a few per question (the answerer reads them for every passage).
                    self.store.unit_vectors(chunks)
                self._lexical_generation = generation
            return self._lexical

    def retrieve(
        self,
        query: str,
        top_k: int | None = None,
        kind: str | None = None,
        doc_id: str | None = None,
        mode: Mode = "hybrid",
        generation: object = None,
    ) -> Retrieval:
        top_k = top_k or self.settings.top_k
        n = max(self.settings.candidates, top_k)
        # The glossary works on the BM25 side (question and passages); appending expansions to the dense query
        # measured worse (evals/README.md), so the model sees the spelling-corrected question as asked.
        lexical_index = self.lexical(generation)
        corrected = lexical_index.correct_spelling(query)
        started = time.perf_counter()
        vector = self.embedder.encode_query(corrected)
        embed_ms = (time.perf_counter() - started) * 1000
        dense: list[tuple[Chunk, float]] = []
        lexical: list[tuple[Chunk, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self._dense(vector, n, where_filter(kind, doc_id), lexical_index)
        if mode in ("hybrid", "bm25"):
            lexical = lexical_index.search(query, n, kind=kind, doc_id=doc_id)
        ranked = _cap_per_document(self.fuse(dense, lexical), self.settings.max_per_document)
        return Retrieval(corrected, vector, tuple(ranked[:top_k]), embed_ms)

    def _dense(
        self, vector: np.ndarray, n: int, where: Where | None, lexical_index: LexicalIndex
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks; their text comes from the BM25 index, which holds every committed chunk. A hit it
        lacks was written after it was built: uncommitted when there is a manifest (dropped), else read."""
        hits = self.store.nearest(vector, n, where)
        chunks = lexical_index.by_id
        if self.manifest is None:
            chunks = {**chunks, **self.store.get_chunks([cid for cid, _ in hits if cid not in chunks])}
        return [(chunks[cid], score) for cid, score in hits if cid in chunks]

    def fuse(self, dense: list[tuple[Chunk, float]], lexical: list[tuple[Chunk, float]]) -> list[ScoredChunk]:
        chunks = {c.chunk_id: c for c, _ in (*dense, *lexical)}
        dense_rank = {c.chunk_id: r for r, (c, _) in enumerate(dense, start=1)}
        lexical_rank = {c.chunk_id: r for r, (c, _) in enumerate(lexical, start=1)}
        if not dense or not lexical:
            only = dense or lexical
            scores = {c.chunk_id: s for c, s in only}
        elif self.settings.fusion == "rrf":
            scores = reciprocal_rank_fusion(
                [[c.chunk_id for c, _ in dense], [c.chunk_id for c, _ in lexical]], k=self.settings.rrf_k
            )
        else:
            scores = weighted_fusion(
                {c.chunk_id: s for c, s in dense},
                {c.chunk_id: s for c, s in lexical},
                self.settings.fusion_dense_weight,
            )
        ranked = sorted(scores, key=lambda key: (-scores[key], dense_rank.get(key, 10**9)))
        return [
            ScoredChunk(chunks[key], scores[key], dense_rank.get(key), lexical_rank.get(key))
            for key in ranked
        ]


def _cap_per_document(ranked: list[ScoredChunk], cap: int) -> list[ScoredChunk]:
    """Move passages beyond the first ``cap`` of each document behind the others (order otherwise kept)."""
    if cap <= 0:
        return ranked
    seen: dict[str, int] = {}
    head: list[ScoredChunk] = []
    tail: list[ScoredChunk] = []
    for passage in ranked:
        seen[passage.chunk.doc_id] = seen.get(passage.chunk.doc_id, 0) + 1
        (head if seen[passage.chunk.doc_id] <= cap else tail).append(passage)
    return head + tail
