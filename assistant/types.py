"""Frozen dataclasses passed between the steps: files -> Document -> Chunk -> ScoredChunk -> Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True)
class Unit:
    """A sentence or list item inside a chunk; offsets are relative to the chunk text."""

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
        return " > ".join((self.title, *self.section))

    def unit_text(self, unit: Unit) -> str:
        return self.text[unit.start : unit.end]


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk with its fused retrieval score and the ranks each retriever gave it (None: not retrieved)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


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

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (``cmo-assistant ask --json``)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "answered": self.answered,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def as_plain(obj: Any) -> Any:
    """Dataclass -> dict for logs and debugging."""
    return asdict(obj)
