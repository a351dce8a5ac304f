"""Exact dense search in memory (a small index): the store's passages and scores, without a query to the store."""

from __future__ import annotations

import json

import numpy as np
import pytest
from memory_store import MemoryStore

from assistant.config import PROJECT_ROOT
from assistant.pipeline import Assistant
from assistant.search import dense
from assistant.search.corpus_index import CorpusIndex
from assistant.search.glossary import Glossary
from assistant.types import Chunk, Filters

QUESTIONS = [
    json.loads(line)["question"]
    for line in (PROJECT_ROOT / "evals" / "golden.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


def _chunk(cid: str, kind: str = "article", doc: str = "d.md") -> Chunk:
    return Chunk(cid, doc, "T", kind, doc, (), f"text {cid}", 0, 9, 0, ())


def test_nearest_ranks_by_cosine_and_honours_filters() -> None:
    chunks = [_chunk("a"), _chunk("b", "policy", "p.md"), _chunk("c"), _chunk("d", "policy", "q.md")]
    vectors = {c.chunk_id: v for c, v in zip(chunks, np.eye(4, dtype=np.float32), strict=True)}
    search = dense.ExactDense(chunks, vectors)
    query = np.array([0.1, 0.5, 0.3, 0.8], dtype=np.float32)
    assert [c.chunk_id for c, _ in search.nearest(query, 3)] == ["d", "b", "c"]
    assert [s for _, s in search.nearest(query, 2)] == pytest.approx([0.8, 0.5])
    assert [c.chunk_id for c, _ in search.nearest(query, 9, Filters(kind="policy"))] == ["d", "b"]
    assert [c.chunk_id for c, _ in search.nearest(query, 9, Filters(doc_id="p.md"))] == ["b"]
    assert search.nearest(query, 9, Filters(kind="policy", doc_id="d.md")) == []


def test_a_store_missing_some_passage_vectors_is_queried_instead() -> None:
    store = MemoryStore()
    chunks = [_chunk("a"), _chunk("b")]
    store.add(chunks[:1], np.eye(1, 384, dtype=np.float32), [np.zeros((0, 384), np.float32)])
    index = CorpusIndex("g1", chunks, Glossary.load(), store)
    assert index.exact_dense() is None


@pytest.mark.slow
def test_in_memory_search_gives_the_stores_passages_and_scores(shipped: Assistant) -> None:
    index = shipped.corpus_index()
    exact = index.exact_dense()
    assert exact is not None and len(exact) == len(index)
    for question in QUESTIONS[::4]:
        vector = shipped.embedder.encode_query(question)
        for filters in (None, Filters(kind="policy")):
            mine = {c.chunk_id: s for c, s in exact.nearest(vector, 20, filters)}
            theirs = dict(shipped.store.nearest(vector, 20, filters))
            # Same cosines; HNSW is approximate, so a passage it returns is one of the exact 20 or scores no
            # higher than the exact 20th.
            assert all(abs(mine[cid] - s) < 1e-5 for cid, s in theirs.items() if cid in mine)
            assert all(cid in mine or s <= min(mine.values()) + 1e-6 for cid, s in theirs.items())
            assert len(set(mine) & set(theirs)) >= 18, question


@pytest.mark.slow
def test_a_large_index_is_searched_by_the_store(shipped: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense, "MAX_PASSAGES", 10)
    index = CorpusIndex("large", list(shipped.corpus_index().lexical.chunks), Glossary.load(), shipped.store)
    assert index.exact_dense() is None
    answer = Assistant.build(shipped.settings).ask("What does a CMO do?")
    assert answer.answered
