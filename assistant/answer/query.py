"""One analysis per question, made once and passed down as a frozen :class:`~assistant.types.Query`.

The question is cleaned (control characters, undecodable bytes, length), resolved against the conversation,
spelling-corrected against the corpus vocabulary, and its specific terms ("focus terms") weighed by how rare they
are in the corpus. Retrieval, the refusal decision and sentence choice all read the same Query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

from assistant.answer.conversation import standalone
from assistant.answer.figure_kinds import without_measures
from assistant.answer.word_frequency import specificity
from assistant.errors import QuestionError
from assistant.search.corpus_index import CorpusIndex
from assistant.search.glossary import Glossary
from assistant.search.lexical import CORRECT_CHARS, analyze, stopwords
from assistant.types import Filters, FocusTerms, Query, Turn

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
#: Lone surrogates: what Python makes of bytes that are not UTF-8 (command-line arguments, JSON escapes). No
#: tokenizer or HTTP client accepts them.
_UNREADABLE = re.compile(r"[\ud800-\udfff]")
_WORD = re.compile(r"[a-z0-9]+")

#: Words that say nothing specific in this domain (assistant/data/generic_words.txt).
GENERIC_WORDS = frozenset(
    word
    for line in resources.files("assistant")
    .joinpath("data", "generic_words.txt")
    .read_text("utf-8")
    .splitlines()
    if not line.startswith("#")
    for word in line.split()
)


@lru_cache(maxsize=1)
def generic_terms() -> frozenset[str]:
    """Generic words and stop words, as written and as stemmed terms."""
    words = GENERIC_WORDS | stopwords()
    return frozenset(analyze(" ".join(words))) | words


def unreadable_removed(text: str) -> str:
    """``text`` without lone surrogates (bytes that were not UTF-8)."""
    return _UNREADABLE.sub("", text)


def clean_question(raw: str, limit: int) -> tuple[str, bool]:
    """Control characters removed, whitespace folded, cut to ``limit`` characters at a word boundary.

    :returns: the cleaned question and whether it was cut.
    :raises QuestionError: when nothing is left to ask.
    """
    text = " ".join(_CONTROL.sub(" ", unreadable_removed(raw).replace("\x00", "")).split())
    if not text and _UNREADABLE.search(raw):
        raise QuestionError(
            "The question is not readable text (bytes that are not UTF-8). Set your terminal to UTF-8 and ask "
            "again."
        )
    if not text:
        raise QuestionError("The question is empty. Type a question, for example: What does a CMO do?")
    if not re.search(r"\w", text):
        raise QuestionError(
            "The question has no words, only symbols. Type a question, for example: What does a CMO do?"
        )
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut), True


#: The least a term weighs by general-English rarity: the commonest words still count a little.
GENERAL_FLOOR = 0.3


def focus_terms(text: str, index: CorpusIndex, glossary: Glossary, expand: bool = True) -> FocusTerms:
    """Specific terms of ``text``: stop words and domain-generic words removed, typos corrected, each weighed by
    its IDF in the corpus (a term the corpus lacks gets the highest weight), and by how rare its word is in
    general English (at least GENERAL_FLOOR).

    :param expand: also count the glossary's other form of each acronym or expansion in the text.
    """
    lexical = index.lexical
    generic = generic_terms()
    weights: dict[str, float] = {}
    general: dict[str, float] = {}
    unknown: list[str] = []
    text = without_measures(text[:CORRECT_CHARS])
    expanded = text + " " + " ".join(glossary.additions(text)) if expand else text
    for word in _WORD.findall(expanded.lower()):
        if word in generic or len(word) < 2:
            continue
        if word not in lexical.surface_vocabulary and len(word) <= 3:
            continue  # "yrs", "b4", "hrs": chat shorthand, too short to correct or to count
        word = lexical.correct_word(word)
        for term in analyze(word):
            if term in generic:
                continue
            general[term] = max(general.get(term, 0.0), specificity(word), GENERAL_FLOOR)
            if term in lexical.idf:
                weights[term] = max(weights.get(term, 0.0), lexical.idf[term])
            else:
                weights[term] = lexical.max_idf
                unknown.append(term)
    return FocusTerms(weights, tuple(unknown), general)


class QueryAnalyzer:
    """Makes the Query of a question against one corpus index."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary

    def analyze(
        self,
        text: str,
        index: CorpusIndex,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        condensed: str | None = None,
    ) -> Query:
        """
        :param text: the cleaned question (:func:`clean_question`).
        :param condensed: the question already rewritten as standalone (by an LLM); None: resolved offline.
        """
        resolved = condensed or standalone(text, history)
        focus = focus_terms(text, index, self.glossary)
        if not focus.weights and resolved != text:
            focus = focus_terms(resolved, index, self.glossary)
        return Query(
            text=text,
            standalone=resolved,
            corrected=index.lexical.correct_spelling(resolved),
            focus=focus,
            filters=filters or Filters(),
            history=tuple(history),
        )

    def terms(self, text: str, index: CorpusIndex, expand: bool = True) -> FocusTerms:
        """Focus terms of a part of a question (its quantity words, the sides it compares)."""
        return focus_terms(text, index, self.glossary, expand)
