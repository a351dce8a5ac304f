"""The answer stage's interface: an AnswerRequest in, a Composition out.

An answerer declares what else it can do: ``streams`` (``stream()`` yields text as it is written, then the
Composition) and ``condenses`` (``condense()`` rewrites a follow-up as a standalone question). The pipeline reads
these flags; it never probes for methods.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import numpy as np

from assistant.answer.answerability import figure_part
from assistant.answer.conversation import elliptical
from assistant.types import Citation, Query, ScoredChunk, Turn

if TYPE_CHECKING:
    from assistant.search.corpus_index import CorpusIndex


@dataclass(frozen=True)
class AnswerRequest:
    """Everything an answerer gets for one question."""

    query: Query
    passages: tuple[ScoredChunk, ...]
    query_vector: np.ndarray
    #: the corpus index the passages come from (vocabulary, IDF, spelling), for analysing parts of the question
    index: CorpusIndex | None = None
    #: per chunk id, one vector per unit (sentence or list item), in unit order
    unit_vectors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def question(self) -> str:
        return self.query.text

    @property
    def standalone(self) -> str:
        """The question resolved against the conversation (what retrieval used)."""
        return self.query.standalone

    @property
    def history(self) -> tuple[Turn, ...]:
        return self.query.history

    @cached_property
    def elliptical(self) -> bool:
        """A follow-up that only names another subject ("and holidays?" after "how much is weekend call paid?")."""
        return elliptical(self.question, self.standalone)

    @property
    def asking(self) -> str:
        """The words whose form says what is asked (money, a figure): the question, or for an elliptical
        follow-up the question resolved against the conversation, whose asking phrase is the earlier question's."""
        return self.standalone if self.elliptical else self.question

    @cached_property
    def subject(self) -> str | None:
        """The words naming what a figure is asked about when not the resolved question's: an elliptical
        follow-up's own ("what about weeknights?" asks the stipend for weeknights, not for the weekend call asked
        about before), or the part asking for the figure of a question asking several things ("how often do docs
        get reappointed" of "how often do docs get reappointed + how much CME do we need?")."""
        if self.elliptical:
            return self.question
        return figure_part(self.question) if self.standalone == self.question else None


@dataclass(frozen=True)
class Composition:
    text: str
    answered: bool
    citations: tuple[Citation, ...]
    notices: tuple[str, ...] = ()


class Answerer(Protocol):
    name: str
    #: whether :meth:`stream` yields the text as it is written (else it yields the whole text at once)
    streams: bool
    #: whether :meth:`condense` can rewrite a follow-up (else it returns None)
    condenses: bool

    def answer(self, request: AnswerRequest) -> Composition: ...

    def stream(self, request: AnswerRequest) -> Iterator[str | Composition]:
        """Text pieces, then the Composition (always last)."""
        ...

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """``question`` rewritten to stand on its own, or None (the caller then resolves it offline)."""
        ...
