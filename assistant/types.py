"""Frozen dataclasses passed between the stages.

files -> Document -> Chunk (with its Units) -> [Query] -> Retrieval (ScoredChunks) -> Answer (Citations).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

Kind = Literal["article", "policy"]
Span = tuple[int, int]


@dataclass(frozen=True)
class Document:
    """A loaded source file: body text (front matter removed) plus metadata."""

    doc_id: str
    title: str
    kind: str
    source_path: str
    text: str
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the text page by page, for reading (a PDF's, or whatever a reader gives under ``pages``); empty when
    #: the format has no pages. Only ``text`` is chunked and indexed.
    pages: tuple[str, ...] = ()


def context_header(title: str, section: tuple[str, ...]) -> str:
    """Title and heading path ("Title > Section > Subsection"): prepended to a passage for embedding and BM25,
    and counted in its size when chunking."""
    return " > ".join((title, *section))


@dataclass(frozen=True)
class Unit:
    """A sentence or list item: a span of text (relative to the chunk text inside a Chunk)."""

    start: int
    end: int
    is_list_item: bool


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: a contiguous slice ``document.text[start:end]`` inside one section."""

    chunk_id: str
    doc_id: str
    title: str
    kind: str
    source_path: str
    section: tuple[str, ...]
    text: str
    start: int
    end: int
    ordinal: int
    units: tuple[Unit, ...] = ()

    @property
    def section_label(self) -> str:
        return " > ".join(self.section)

    @property
    def context_header(self) -> str:
        """Title and heading path, prepended to the text for embedding and BM25 (not shown as passage text)."""
        return context_header(self.title, self.section)

    def unit_text(self, unit: Unit) -> str:
        return self.text[unit.start : unit.end]

    def lead_in(self, index: int) -> int | None:
        """The unit that opens the list unit ``index`` belongs to: the last unit before it that is not a list
        item, or the item its list is nested under (one indented less), when it ends with ":" (None: ``index``
        is no list item, or its list has no lead-in here). "- a serious safety event under policy PS-301;" is
        one of the triggers that "1. Cases are referred for review when any of these triggers occurs:" lists."""
        if not self.units[index].is_list_item:
            return None
        depth = self.indent(index)
        for i in range(index - 1, -1, -1):
            if not self.units[i].is_list_item or self.indent(i) < depth:
                return i if self.unit_text(self.units[i]).rstrip().endswith(":") else None
        return None

    def indent(self, index: int) -> int:
        """How far unit ``index``'s line is indented (a nested list item's is more than its parent's)."""
        start = self.units[index].start
        line = self.text[self.text.rfind("\n", 0, start) + 1 : start]
        return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())

    def unit_embedding_text(self, index: int) -> str:
        """What unit ``index`` is embedded as, so that a list item is found by what its list is about: after
        its lead-in ("Riverbend Health pays the following stipends ...: Weekend call: $2,400 for the full
        weekend."), or after its heading path when its list opens the passage (a list right under a heading, or
        the rest of a list split over passages). Any other unit as written."""
        unit = self.units[index]
        text = self.unit_text(unit)
        if not unit.is_list_item:
            return text
        opener = self.lead_in(index)
        if opener is not None:
            return f"{self.unit_text(self.units[opener]).strip()} {text}"
        if self.section and self.opens_inside_list(index):
            return f"{self.section_label}: {text}"
        return text

    def opens_inside_list(self, index: int) -> bool:
        """Every unit up to ``index`` is a list item: the passage starts inside a list (one right under a
        heading, or the rest of a list split over passages)."""
        return all(u.is_list_item for u in self.units[: index + 1])


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk with its fused retrieval score and the ranks each retriever gave it (None: not retrieved)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Filters:
    """Which documents a question searches: one kind ("article" or "policy"), one document, or all. The vector
    store translates this into its own query language."""

    kind: str | None = None
    doc_id: str | None = None

    def __bool__(self) -> bool:
        return bool(self.kind or self.doc_id)

    def admits(self, chunk: Chunk) -> bool:
        return (not self.kind or chunk.kind == self.kind) and (not self.doc_id or chunk.doc_id == self.doc_id)


#: Two stems count as the same term when they share this many leading characters ("accountabl" ~ "account").
TERM_PREFIX = 5


def _prefixes(terms: set[str] | frozenset[str]) -> frozenset[str]:
    return frozenset(t[:TERM_PREFIX] for t in terms if len(t) >= TERM_PREFIX)


@lru_cache(maxsize=65_536)
def term_prefixes(terms: frozenset[str]) -> frozenset[str]:
    """The first letters of each term long enough to have them: a sentence's terms come back question after
    question, so they are worked out once per set."""
    return _prefixes(terms)


@dataclass(frozen=True)
class FocusTerms:
    """A question's specific terms (stemmed), each with an IDF weight; unknown ones get the maximum weight."""

    weights: dict[str, float]
    unknown: tuple[str, ...] = ()
    #: the same terms weighed by how rare their word is in general English (``wordfreq``), not in the corpus:
    #: "together" or "run", which the corpus seldom uses, weigh little here and most by IDF
    general: dict[str, float] = field(default_factory=dict)

    def coverage(self, covered: set[str] | frozenset[str], general: bool = False) -> float:
        """Weighted share of the terms found in ``covered`` (a stem, or one sharing its first letters): by IDF,
        or by general-English rarity when ``general`` (and those weights are known)."""
        weights = self.general if general and self.general else self.weights
        total = sum(weights.values())
        if total == 0:
            return 1.0
        prefixes = term_prefixes(covered) if isinstance(covered, frozenset) else _prefixes(covered)
        return (
            sum(
                w
                for t, w in weights.items()
                if t in covered or (len(t) >= TERM_PREFIX and t[:TERM_PREFIX] in prefixes)
            )
            / total
        )


@dataclass(frozen=True)
class Query:
    """One question, analysed once and passed down to every stage.

    ``text`` is the question as asked (cleaned); ``standalone`` the question resolved against the conversation
    (what retrieval searches with); ``corrected`` that with its typos fixed against the corpus vocabulary (what
    is embedded and matched); ``focus`` its specific terms (what an answer must cover).
    """

    text: str
    standalone: str
    corrected: str
    focus: FocusTerms
    filters: Filters = Filters()
    history: tuple[Turn, ...] = ()

    @property
    def is_followup(self) -> bool:
        return self.standalone != self.text


@dataclass(frozen=True)
class Retrieval:
    """Passages for one question, plus the question vector the answerer reuses."""

    query: Query
    query_vector: np.ndarray
    passages: tuple[ScoredChunk, ...]
    #: time spent embedding the question (part of the retrieval time)
    embed_ms: float = 0.0


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Citation:
    """One ``[n]`` marker and the passage behind it. ``highlights`` are spans of the supporting sentences."""

    marker: int
    doc_id: str
    title: str
    source: str
    section: str
    text: str
    highlights: tuple[Span, ...]
    score: float
    kind: str = "article"

    def to_dict(self) -> dict[str, Any]:
        return {
            "marker": self.marker,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "section": self.section,
            "text": self.text,
            "highlights": [list(span) for span in self.highlights],
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class ClosestPassage:
    """A passage shown with a refusal: the nearest the sources come to the question, which they do not answer
    (so the reader can look for themselves). Not a citation: nothing in the refusal rests on it."""

    doc_id: str
    title: str
    section: str
    text: str
    #: cosine similarity of its sentence closest to the question
    similarity: float
    kind: str = "article"

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "similarity": round(self.similarity, 6),
        }


@dataclass(frozen=True)
class Answer:
    """What the assistant says, with the passages it cites. ``answered`` is False for a refusal."""

    question: str
    answer: str
    answered: bool
    citations: tuple[Citation, ...]
    #: "embed" (the question's vector, part of "retrieve"), "retrieve", "generate" (the answerer), "total"
    timings_ms: dict[str, float]
    notices: tuple[str, ...] = ()
    standalone_question: str = ""
    #: every passage retrieval returned, in rank order (cited or not); for evaluation and debugging
    retrieved: tuple[ScoredChunk, ...] = ()
    #: with a refusal, the sections nearest the question (empty for an answer, or when none is near)
    closest: tuple[ClosestPassage, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (``cmo-assistant ask --json``)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "answered": self.answered,
            "citations": [c.to_dict() for c in self.citations],
            "closest": [c.to_dict() for c in self.closest],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def as_plain(obj: Any) -> Any:
    """Dataclass -> dict for logs and debugging."""
    return asdict(obj)
