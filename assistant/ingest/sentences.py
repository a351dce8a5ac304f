"""Split text into units: sentences of paragraphs and whole list items, as character spans.

The spans are what citations highlight, so they must point at the exact characters of the source.
Pure functions, no third-party dependency: the rules below are the product (a model-based splitter would need
a download, and the corpus is clean prose).
"""

from __future__ import annotations

import re

from assistant.types import Unit

#: "- item", "* item", "+ item", "• item", "– item", "1. item", "1) item"
LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+•–]|\d{1,3}[.)])[ \t]+")
HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+")
# Abbreviations after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "dr",
        "mr",
        "mrs",
        "ms",
        "st",
        "jr",
        "sr",
        "no",
        "inc",
        "ltd",
        "co",
        "u.s",
        "u.k",
        "fig",
        "approx",
        "dept",
        "ph.d",
        "m.d",
        "d.o",
    ]
)
# A sentence ends at . ! or ? (optionally followed by closing quotes/brackets) and whitespace, then a capital,
# digit, quote or bracket starts the next one.
#: Punctuation around a word that hides an abbreviation: "(e.g." or "U.S.)".
_WRAPPING = ".!?\"'”’)](“‘("
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans of one paragraph (no newlines expected), trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start() + 1
        while end < len(text) and text[end] in "\"'”’)]":
            end += 1
        word = _last_word(text, start, end).strip(_WRAPPING).lower()
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    result = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            result.append((s + offset, e + offset))
    return result


def _last_word(text: str, start: int, end: int) -> str:
    """The last whitespace-separated word of ``text[start:end]``, found by scanning back from ``end`` (copying
    the growing sentence each time an abbreviation is skipped made one long line quadratic)."""
    while end > start and text[end - 1].isspace():
        end -= 1
    begin = end
    while begin > start and not text[begin - 1].isspace():
        begin -= 1
    return text[begin:end]


def split_units(text: str, offset: int = 0) -> list[Unit]:
    """Units of a block of Markdown-ish text: each list item whole, each paragraph line split into sentences.

    Heading lines and blank lines produce no units. Offsets are into ``text`` plus ``offset``.
    """
    units: list[Unit] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        line_start = pos
        pos += len(line)
        body = line.rstrip("\r\n")
        if not body.strip() or HEADING.match(body) or body.lstrip().startswith(">"):
            continue
        marker = LIST_MARKER.match(body)
        if marker:
            s, e = marker.end(), len(body.rstrip())
            if e > s:
                units.append(Unit(line_start + s + offset, line_start + e + offset, True))
            continue
        for s, e in sentence_spans(body):
            units.append(Unit(line_start + s + offset, line_start + e + offset, False))
    return units
