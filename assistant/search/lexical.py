"""BM25 over the same chunks as the vector store (bm25s), plus the term analysis the answerer reuses.

Passages are indexed with their title and heading path and with the glossary's other forms of every acronym,
so "FQHC" in a question matches "federally qualified health center" in a passage.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np

from assistant.search.chunk_table import ChunkTable
from assistant.search.glossary import Glossary
from assistant.types import Chunk, Filters


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English function and question words (assistant/data/stopwords.txt)."""
    text = resources.files("assistant").joinpath("data", "stopwords.txt").read_text("utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def analyze_many(texts: Sequence[str]) -> list[list[str]]:
    """Terms of each text: lower-cased words of 2+ characters, stop words removed, Snowball-stemmed.

    The one analysis for passages (indexing) and questions (search, answer composition). It is bm25s's default
    tokenisation, done directly: bm25s's own tokenize() sets up progress bars and vocabularies on every call,
    which costs more than the analysis of a question.
    """
    stop = stopwords()
    words = [[w for w in _TOKEN.findall(text.lower()) if w not in stop] for text in texts]
    unique = sorted({w for ws in words for w in ws})
    stems = dict(zip(unique, _stemmer().stemWords(unique), strict=True))
    return [[stems[w] for w in ws] for ws in words]


@lru_cache(maxsize=4096)
def _analyze_cached(text: str) -> tuple[str, ...]:
    tokens = analyze_many([text])
    return tuple(tokens[0]) if tokens else ()


def analyze(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed terms, exactly as BM25 sees them."""
    return list(_analyze_cached(text))


_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_LETTER_INDEX = {ch: i for i, ch in enumerate(_ALPHABET)}


def _letter_counts(word: str) -> np.ndarray:
    counts = np.zeros(len(_ALPHABET), dtype=np.int32)
    for ch in word:
        if (i := _LETTER_INDEX.get(ch)) is not None:
            counts[i] += 1
    return counts


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole English words of 4+ letters (about 20,000): those of the bundled model's WordPiece vocabulary.

    A word in it is written as meant, so spelling correction leaves it alone even when the sources lack it
    ("weather" stays "weather", not "whether"; "stuff" is not "staff"). Typos are rarely whole words there.
    """
    from assistant.errors import ConfigError
    from assistant.search.bundled_model import bundled_model_path

    try:
        lines = (bundled_model_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    except (OSError, ImportError, ConfigError):
        return frozenset()
    return frozenset(w for w in lines if len(w) >= 4 and w.isascii() and w.isalpha() and w.islower())


#: Spelling correction and term analysis look at this much of a question (a pasted page costs no more).
CORRECT_CHARS = 600


def search_text(chunk: Chunk, glossary: Glossary) -> str:
    base = f"{chunk.context_header}\n{chunk.text}"
    extra = glossary.additions(base)
    return f"{base}\n{' '.join(extra)}" if extra else base


#: Bumped whenever :func:`analyze_many`, :func:`search_text` or the BM25 parameters change what an index holds:
#: a saved index (search/saved_index.py) made by another version is not used.
ANALYSER_VERSION = "1"


@dataclass(frozen=True)
class LexicalTerms:
    """What BM25 indexing derives from the passages (the expensive part, saved per index generation).

    :param retriever: the bm25s index (scores per term and passage).
    :param df: per term, the number of passages holding it.
    :param surface_vocabulary: lower-cased words as written (before stemming), for correcting typos in questions.
    """

    retriever: Any
    df: dict[str, int]
    surface_vocabulary: frozenset[str]


def index_terms(chunks: Sequence[Chunk], glossary: Glossary) -> LexicalTerms:
    """Analyse every passage (with its title, headings and glossary additions) and build BM25 over them."""
    import bm25s

    texts = [search_text(c, glossary) for c in chunks]
    corpus_tokens = analyze_many(texts)
    retriever = bm25s.BM25()
    if chunks:
        retriever.index(corpus_tokens, show_progress=False)
    df: Counter[str] = Counter()
    for tokens in corpus_tokens:
        df.update(set(tokens))
    surface = frozenset(w for t in texts for w in re.findall(r"[a-z0-9]+", t.lower()))
    return LexicalTerms(retriever, dict(df), surface)


class LexicalIndex:
    """A BM25 index of chunks. Build once per index generation; searching is a sparse dot product."""

    def __init__(
        self, chunks: Sequence[Chunk], glossary: Glossary, terms: LexicalTerms | None = None
    ) -> None:
        """
        :param terms: what :func:`index_terms` derived from exactly these ``chunks`` (a saved index); None:
            derive it now.
        """
        self.chunks: Sequence[Chunk]
        self.by_id: Mapping[str, Chunk]
        if isinstance(chunks, ChunkTable):  # saved passages, made into objects only when used
            self.chunks, self.by_id = chunks, chunks.by_id()
            kinds, docs = chunks.kinds, chunks.doc_ids
        else:
            self.chunks = list(chunks)
            self.by_id = {c.chunk_id: c for c in self.chunks}
            kinds, docs = [c.kind for c in self.chunks], [c.doc_id for c in self.chunks]
        self.glossary = glossary
        self.terms = terms if terms is not None else index_terms(self.chunks, glossary)
        self.retriever = self.terms.retriever
        n = max(len(self.chunks), 1)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in self.terms.df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self._corrections: dict[str, str] = {}
        #: lower-cased words as written (before stemming), for correcting typos in questions
        self.surface_vocabulary = self.terms.surface_vocabulary
        self._kinds = np.array(kinds)
        self._docs = np.array(docs)

    @property
    def vocabulary(self) -> set[str]:
        return set(self.idf)

    def correct_word(self, word: str) -> str:
        """``word`` (lower case), or the closest corpus word when it has 4+ letters and is neither in the
        sources nor an English word (:func:`english_words`)."""
        if (
            word in self.surface_vocabulary
            or len(word) < 4
            or word in english_words()
            or all(t in self.idf for t in analyze(word))
        ):
            return word
        if word not in self._corrections:
            # difflib's own first filter (quick_ratio: shared letters, ignoring order) done for the whole
            # vocabulary at once in numpy; only the words that pass it are compared for real. Same answer.
            words, counts, lengths, firsts = self._letter_table
            shared = np.minimum(counts, _letter_counts(word)).sum(axis=1)
            passing = 2.0 * shared / (lengths + len(word)) >= 0.8
            # A typo keeps the first letter and about the length ("cheif", "oficer", "skils"); without this, real
            # words the sources lack were "corrected" into others ("options" -> "operations", "later" ->
            # "after", "malpractice" -> "practice").
            passing &= (np.abs(lengths - len(word)) <= 1) & (firsts == word[0])
            candidates = [words[i] for i in np.flatnonzero(passing)]
            match = difflib.get_close_matches(word, candidates, n=1, cutoff=0.8)
            if len(self._corrections) > 10_000:
                self._corrections.clear()
            self._corrections[word] = match[0] if match else word
        return self._corrections[word]

    def correct_spelling(self, text: str) -> str:
        """``text`` with misspelled words replaced by the corpus word they are closest to ("cheif" -> "chief").

        Only the first few hundred characters are corrected: enough for any real question, and a pasted page
        does not cost seconds of fuzzy matching.
        """
        return self._correct(text[:CORRECT_CHARS]) + text[CORRECT_CHARS:]

    def _correct(self, text: str) -> str:
        return re.sub(
            r"[A-Za-z]{4,}", lambda m: self._recase(m.group(0), self.correct_word(m.group(0).lower())), text
        )

    @staticmethod
    def _recase(original: str, corrected: str) -> str:
        if corrected == original.lower():
            return original
        return corrected.capitalize() if original[:1].isupper() else corrected

    @cached_property
    def _letter_table(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The vocabulary with each word's letter counts, length and first letter (for spelling correction)."""
        words = sorted(self.surface_vocabulary)
        counts = np.stack([_letter_counts(w) for w in words]) if words else np.zeros((0, len(_ALPHABET)))
        lengths = np.array([len(w) for w in words], dtype=np.float64)
        return words, counts, lengths, np.array([w[:1] for w in words])

    def search(self, corrected: str, n: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Top ``n`` chunks by BM25 score (zero-score chunks left out), optionally filtered.

        :param corrected: the question with its spelling corrected (:meth:`correct_spelling`).
        """
        if not self.chunks:
            return []
        expanded = self.glossary.expand(corrected)
        tokens = [t for t in analyze(expanded) if t in self.idf]
        if not tokens:
            return []
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        if filters is not None and filters.kind:
            scores = np.where(self._kinds == filters.kind, scores, 0.0)
        if filters is not None and filters.doc_id:
            scores = np.where(self._docs == filters.doc_id, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]
