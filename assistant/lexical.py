"""BM25 over the same chunks as the vector store (bm25s), plus the term analysis the answerer reuses.

Passages are indexed with their title and heading path and with the glossary's other forms of every acronym,
so "FQHC" in a question matches "federally qualified health center" in a passage.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from .glossary import Glossary
from .types import Chunk


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=4096)
def _analyze_cached(text: str) -> tuple[str, ...]:
    import bm25s

    tokens = bm25s.tokenize(text, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)
    return tuple(tokens[0]) if tokens else ()


def analyze(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed terms, exactly as BM25 sees them."""
    return list(_analyze_cached(text))


def search_text(chunk: Chunk, glossary: Glossary) -> str:
    base = f"{chunk.context_header}\n{chunk.text}"
    extra = glossary.additions(base)
    return f"{base}\n{' '.join(extra)}" if extra else base


class LexicalIndex:
    """A BM25 index of chunks. Build once per index generation; searching is a sparse dot product."""

    def __init__(self, chunks: Sequence[Chunk], glossary: Glossary) -> None:
        import bm25s

        self.chunks = list(chunks)
        self.glossary = glossary
        texts = [search_text(c, glossary) for c in self.chunks]
        corpus_tokens = [analyze(t) for t in texts] if len(texts) < 4096 else self._bulk(texts)
        self.retriever = bm25s.BM25()
        if self.chunks:
            self.retriever.index(corpus_tokens, show_progress=False)
        df: Counter[str] = Counter()
        for tokens in corpus_tokens:
            df.update(set(tokens))
        n = max(len(corpus_tokens), 1)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        #: lower-cased words as written (before stemming), for correcting typos in questions
        self.surface_vocabulary = frozenset(w for t in texts for w in re.findall(r"[a-z0-9]+", t.lower()))
        self._kinds = np.array([c.kind for c in self.chunks])
        self._docs = np.array([c.doc_id for c in self.chunks])

    @staticmethod
    def _bulk(texts: list[str]) -> list[list[str]]:
        import bm25s

        tokenized = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=True, show_progress=False)
        inverse = {i: t for t, i in tokenized.vocab.items()}
        return [[inverse[i] for i in ids] for ids in tokenized.ids]

    @property
    def vocabulary(self) -> set[str]:
        return set(self.idf)

    def search(self, query: str, n: int, kind: str | None = None, doc_id: str | None = None) -> list[tuple[Chunk, float]]:
        """Top ``n`` chunks by BM25 score (zero-score chunks left out), optionally filtered."""
        if not self.chunks:
            return []
        expanded = self.glossary.expand(query)
        tokens = [t for t in analyze(expanded) if t in self.idf]
        if not tokens:
            return []
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        if kind:
            scores = np.where(self._kinds == kind, scores, 0.0)
        if doc_id:
            scores = np.where(self._docs == doc_id, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]
