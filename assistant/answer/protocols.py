"""The interface every answerer implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from assistant.types import Citation, ScoredChunk, Turn


@dataclass(frozen=True)
class AnswerRequest:
    question: str
    #: the question resolved against the conversation (what retrieval used)
    standalone: str
    passages: tuple[ScoredChunk, ...]
    query_vector: np.ndarray
    history: tuple[Turn, ...] = ()
    #: per chunk id, one vector per unit (sentence or list item), in unit order
    unit_vectors: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Composition:
    text: str
    answered: bool
    citations: tuple[Citation, ...]
    notices: tuple[str, ...] = ()


class Answerer(Protocol):
    name: str

    def answer(self, request: AnswerRequest) -> Composition: ...
