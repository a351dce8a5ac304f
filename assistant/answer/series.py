"""A question asking for a numbered series, and the section that sets the series out.

Policies often set out a series as numbered subsections: "4. Escalation Levels" holds "4.1 Level 1: Responsible
Practitioner" to "4.4 Level 4: Chief Medical Officer"; others have steps, phases, tiers or stages. Asked for the
series by the plural of the word that numbers those headings ("what are the levels of escalation?", "walk me
through the steps"), a reader wants each part under its heading. The sentences of the parts rarely share words or
meaning with such a question (none of CE-801's sentences is near "the levels of escalation"), so the answer is found
by the document's structure, not by sentence similarity. A question about one part ("who do I call at level 2?")
names it in the singular and is answered as any other. A question naming a span of days ("what should I do in my
first month?") asks for the parts of a series numbered by days ("Days 1 to 30: Learn") that the span overlaps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer.answerability import asks_figure
from assistant.answer.figure_kinds import TIME_UNITS
from assistant.answer.query import generic_terms
from assistant.search.corpus_index import CorpusIndex
from assistant.search.lexical import analyze
from assistant.types import Chunk

#: A heading that numbers a part of a series: "4.1 Level 1: Responsible Practitioner", "Step 2 - Review",
#: "Phase III". Its word before the number names the series' parts.
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?(?P<noun>[A-Za-z]+)\s+(?:\d+|[IVX]+)\b")
#: The section number a heading starts with ("4.1 "), not part of what the part is called.
_SECTION_NUMBER = re.compile(r"^\d+(?:\.\d+)*\.?\s+")
_WORD = re.compile(r"[a-z]+")
#: Words that ask for the parts of any series, whatever word numbers its headings: "what are the phases of
#: onboarding?" asks for "Days 1 to 30: Learn", "Days 31 to 60: Assess" ..., and "what's the escalation process
#: for a nurse?" for CE-801's levels.
SERIES_WORDS = frozenset(["phase", "stage", "step", "process"])
#: Parts a series has at least.
MIN_PARTS = 2
#: How many of the most relevant retrieved passages may lead to the series.
SEARCHED = 3


@dataclass(frozen=True)
class Part:
    """One part of a series: its heading as the document words it (without its section number), and where."""

    label: str
    section: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    """A series a document sets out as numbered subsections of one section (``parent``)."""

    doc_id: str
    parent: tuple[str, ...]
    parts: tuple[Part, ...]
    #: False when the question asks about some of the parts only (a span of days: "my first 30 days" of
    #: "Days 1 to 30", "Days 31 to 60" ...): each is then quoted whole, not by its opening sentence alone
    whole: bool = True


def asked_series(question: str, passages: Sequence[Chunk], index: CorpusIndex) -> Series | None:
    """The series the question asks for by the plural of its parts' word, or by a word asking for the parts of
    any series (SERIES_WORDS: "what are the phases of onboarding?" for "Days 1 to 30: Learn" ...), set out in the
    document of one of the most relevant retrieved ``passages`` (SEARCHED); None when the question asks for no
    such series. A number of a unit of time asked for ("how many days ...?") does not ask for a series of days.

    The series must be the question's: when the question says more than the parts' word, one of its other
    specific terms is in the document's title, the series' heading, its parts' headings or the text that opens it
    ("the levels of escalation", "the levels in the chain of command", "my first 90 days"), so "what rating
    levels does a peer reviewer use?" is not answered with the escalation policy's levels; the series may then be
    anywhere in that document. When the question says no more ("what are the levels?"), the series is under the
    most relevant passage's section or the one above it."""
    asked = {_singular(w) for w in _WORD.findall(question.lower()) if len(w) > 3 and w.endswith("s")}
    if not asked:
        return None
    asking = _specific_terms(question)
    figure = asks_figure(question)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for rank, chunk in enumerate(passages[:SEARCHED]):
        # the passage's own section or the one above it, then the document's other sections with subsections
        # ("what are the phases of onboarding?" finds a passage under "Definitions", the phases are under
        # "Procedure"); not the document as a whole (what opens a document is its title block, not a sentence
        # introducing a series)
        own = [
            chunk.section[:depth] for depth in range(len(chunk.section), max(len(chunk.section) - 2, 0), -1)
        ]
        for parent in [*own, *(p for p in index.parents(chunk.doc_id) if p not in own)]:
            if (chunk.doc_id, parent) in seen:
                continue
            seen.add((chunk.doc_id, parent))
            parts = _parts(chunk.doc_id, parent, index)
            nouns = {noun for noun, _ in parts}
            if len(parts) < MIN_PARTS or len(nouns) != 1:
                continue
            # "how many days ...?" asks for a number of days, not for the "Days 1 to 30" series
            by_noun = nouns <= asked and not (nouns & TIME_UNITS and figure)
            if not (by_noun or asked & SERIES_WORDS):
                continue
            others = asking - _specific_terms(" ".join(f"{n} {n}s" for n in nouns | (asked & SERIES_WORDS)))
            opening = " ".join(c.text for c in index.section(chunk.doc_id, parent))
            labels = " ".join(part.label for _, part in parts)
            if (
                others & _specific_terms(f"{chunk.title} {' '.join(parent)} {labels} {opening}")
                if others
                else rank == 0 and parent in own
            ):
                series = Series(chunk.doc_id, parent, tuple(part for _, part in parts))
                return spanned(series, question) or series
    return None


def _parts(doc_id: str, parent: tuple[str, ...], index: CorpusIndex) -> list[tuple[str, Part]]:
    """The numbered subsections of a section, each with the (singular) word numbering it."""
    return [
        (_singular(match.group("noun").lower()), Part(_SECTION_NUMBER.sub("", path[-1]), path))
        for path in index.subsections(doc_id, parent)
        if (match := _NUMBERED.match(path[-1]))
    ]


def asked_span_of_series(question: str, passages: Sequence[Chunk], index: CorpusIndex) -> Series | None:
    """The parts of a series numbered by days that a question asks about by a span of days without naming the
    parts' word ("what should a new CMO do in the first month?" for "Days 1 to 30: Learn"), in the document of
    one of the most relevant retrieved ``passages``; None when the question names no span, asks for a figure, or
    the span holds every part or none (a question about the first 90 days of anything is not about the plan)."""
    if asked_span(question) is None or asks_figure(question):
        return None
    for chunk in passages[:SEARCHED]:
        for parent in index.parents(chunk.doc_id):
            parts = _parts(chunk.doc_id, parent, index)
            if len(parts) < MIN_PARTS or {noun for noun, _ in parts} != {"day"}:
                continue
            some = spanned(Series(chunk.doc_id, parent, tuple(part for _, part in parts)), question)
            if some is not None and not some.whole:
                return some
    return None


#: A part numbered by days: "Days 1 to 30: Learn", "Day 31-60 - Assess".
_DAYS_LABEL = re.compile(r"^days?\s+(\d+)\s*(?:to|through|-|–)\s*(\d+)\b", re.I)
_COUNT_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "six": 6, "couple of": 2, "few": 3}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}
_ORDINALS = {"first": 1, "second": 2, "third": 3}
#: "my first 30 days", "the first month", "first two weeks": a span from day 1.
_FIRST = re.compile(
    r"\bfirst\s+(?:(\d+)|(a|one|two|three|four|six|couple of|few)\s+)?\s*(day|week|month)s?\b", re.I
)
#: "days 31 to 60", "day 45".
_DAYS = re.compile(r"\bdays?\s+(\d+)(?:\s*(?:to|through|-|–)\s*(\d+))?\b", re.I)
#: "the second month", "month 3", "week 2".
_NTH = re.compile(r"\b(first|second|third)\s+(week|month)\b|\b(week|month)\s+(\d)\b", re.I)


def asked_span(question: str) -> tuple[int, int] | None:
    """The days a question asks about, counted from the first ("my first 30 days": 1-30, "the second month":
    31-60, "days 31 to 60", "first two weeks": 1-14); None when it names no such span."""
    if match := _FIRST.search(question):
        digits, words, unit = match.groups()
        count = int(digits) if digits else _COUNT_WORDS.get((words or "one").lower(), 1)
        return 1, count * _UNIT_DAYS[unit.lower()]
    if match := _NTH.search(question):
        ordinal, unit, unit_after, number = match.groups()
        nth = _ORDINALS[ordinal.lower()] if ordinal else int(number)
        size = _UNIT_DAYS[(unit or unit_after).lower()]
        return (nth - 1) * size + 1, nth * size
    if match := _DAYS.search(question):
        first = int(match.group(1))
        return first, int(match.group(2) or first)
    return None


def spanned(series: Series, question: str) -> Series | None:
    """The parts of a series numbered by days that the span the question asks about overlaps (None: the question
    names no span, a part is not numbered by days, or no part falls in it); the series itself when the span holds
    every part ("my first 90 days")."""
    span = asked_span(question)
    if span is None:
        return None
    days = [_DAYS_LABEL.match(part.label) for part in series.parts]
    if not all(days):
        return None
    inside = tuple(
        part
        for part, match in zip(series.parts, days, strict=True)
        if match and int(match.group(1)) <= span[1] and int(match.group(2)) >= span[0]
    )
    if not inside:
        return None
    return series if len(inside) == len(series.parts) else Series(series.doc_id, series.parent, inside, False)


def _specific_terms(text: str) -> set[str]:
    generic = generic_terms()
    return {t for t in analyze(text) if t not in generic}


def _singular(word: str) -> str:
    """ "levels" -> "level", "categories" -> "category" (enough for the words that number headings)."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word
