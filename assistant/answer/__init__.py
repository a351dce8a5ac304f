"""Answer generation behind one interface: the extractive composer (default) and, later, LLM backends."""

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.protocols import Answerer, AnswerRequest, Composition

__all__ = ["AnswerRequest", "Answerer", "Composition", "ExtractiveAnswerer"]
