"""Hybrid retrieval: dense (the vector store) and BM25 (the corpus index) candidates fused into one ranking.

Fusion is a weighted convex combination of min-max normalised scores by default (``fusion = "weighted"``);
reciprocal rank fusion is the alternative. The eval suite's ablation compares them (see evals/README.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from assistant.config import RetrievalSettings
from assistant.search.corpus_index import CorpusIndex
from assistant.search.protocols import Mode, VectorStore
from assistant.types import Chunk, Filters, Query, Retrieval, ScoredChunk


class QueryEmbedder(Protocol):
    def encode_query(self, text: str) -> np.ndarray: ...


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
    """Dense (the vector store) and BM25 (the corpus index) candidates, fused, at most a few per document."""

    def __init__(self, settings: RetrievalSettings, embedder: QueryEmbedder, store: VectorStore) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store

    def retrieve(
        self, query: Query, index: CorpusIndex, top_k: int | None = None, mode: Mode = "hybrid"
    ) -> Retrieval:
        top_k = top_k or self.settings.top_k
        n = max(self.settings.candidates, top_k)
        # The glossary works on the BM25 side (question and passages); appending expansions to the dense query
        # measured worse (evals/README.md), so the model sees the spelling-corrected question as asked.
        started = time.perf_counter()
        vector = self.embedder.encode_query(query.corrected)
        embed_ms = (time.perf_counter() - started) * 1000
        dense: list[tuple[Chunk, float]] = []
        lexical: list[tuple[Chunk, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self._dense(vector, n, query.filters, index)
        if mode in ("hybrid", "bm25"):
            lexical = index.lexical.search(query.corrected, n, query.filters)
        ranked = _cap_per_document(self.fuse(dense, lexical), self.settings.max_per_document)
        return Retrieval(query, vector, tuple(ranked[:top_k]), embed_ms)

    def _dense(
        self, vector: np.ndarray, n: int, filters: Filters, index: CorpusIndex
    ) -> list[tuple[Chunk, float]]:
        """Nearest passages that the corpus index holds (a hit it lacks is not committed yet, and dropped),
        each scored by its own vector and its best sentence (``sentence_weight``). A small index searches its
        passage vectors in memory (exact, and no call to the store)."""
        exact = index.exact_dense()
        if exact is not None:
            passages = {c.chunk_id: score for c, score in exact.nearest(vector, n, filters or None)}
        else:
            hits = self.store.nearest(vector, n, filters or None)
            passages = {cid: score for cid, score in hits if cid in index.by_id}
        weight = self.settings.sentence_weight
        if weight <= 0 or not passages:
            return [(index.by_id[cid], score) for cid, score in passages.items()]
        candidates = set(passages)
        ranking = index.best_sentence_ranking(vector)
        if ranking is not None:  # every passage scored: the best by sentence join the candidates
            admitted = [cid for cid, _ in ranking if filters.admits(index.by_id[cid])]
            candidates.update(admitted[:n])
            best = dict(ranking)
        else:
            best = index.best_sentence_scores(vector, [index.by_id[cid] for cid in candidates])
        # A passage found only by its sentence lacks its own score: it gets the lowest of the found ones.
        floor = min(passages.values())
        scored = {
            cid: (1 - weight) * passages.get(cid, floor) + weight * best.get(cid, floor) for cid in candidates
        }
        ranked = sorted(scored, key=lambda cid: (-scored[cid], cid))[:n]
        return [(index.by_id[cid], scored[cid]) for cid in ranked]

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
        # Ties broken by the dense rank, then the BM25 rank, then the id: the same ranking in every process
        # (the candidate set is built from dict keys, whose order must not decide).
        ranked = sorted(
            scores,
            key=lambda key: (-scores[key], dense_rank.get(key, 10**9), lexical_rank.get(key, 10**9), key),
        )
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
