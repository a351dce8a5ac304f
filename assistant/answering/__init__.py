"""Answer generation behind one interface: the extractive composer (default) and, later, LLM backends."""

from .base import Answerer, AnswerRequest, Composition
from .extractive import ExtractiveAnswerer

__all__ = ["AnswerRequest", "Answerer", "Composition", "ExtractiveAnswerer"]
