"""Pure functions over ``[n]`` citation markers: parse, renumber by first appearance, validate.

Shared by every answerer, so an LLM's markers obey the same rules as the extractive composer's.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from assistant.ingest.sentences import split_units
from assistant.types import Citation

MARKER = re.compile(r"\[(\d{1,9})\]")
#: The marker opening a list item ("- ", "* ", "• ", "1. ", "2) "), at the start of a line.
LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+", re.M)
#: A marker with the spaces before it, and after it when punctuation follows.
_MARKER_WITH_SPACES = re.compile(r"([ \t]*)\[(\d{1,9})\]([ \t]+(?=[.,;:!?]))?")


def markers(text: str) -> list[int]:
    """Marker numbers in order of appearance (repeats included)."""
    return [int(m.group(1)) for m in MARKER.finditer(text)]


@dataclass(frozen=True)
class Renumbered:
    text: str
    #: new marker -> the original number it replaced, in order of first appearance
    mapping: dict[int, int]
    #: markers that pointed at no given passage and were removed
    dropped: tuple[int, ...]


def renumber(text: str, valid: Sequence[int]) -> Renumbered:
    """Drop markers not in ``valid`` and renumber the rest 1, 2, 3... by first appearance."""
    allowed = set(valid)
    new_of: dict[int, int] = {}
    dropped: list[int] = []

    def swap(match: re.Match[str]) -> str:
        before, number, after = match.groups()
        old = int(number)
        if old not in allowed:
            dropped.append(old)
            return ""  # with the spaces around it, so "claim [9] ." becomes "claim."
        new_of.setdefault(old, len(new_of) + 1)
        return f"{before}[{new_of[old]}]{after or ''}"

    # Only the spaces next to a dropped marker are tidied: the rest is quoted text and stays verbatim.
    out = _MARKER_WITH_SPACES.sub(swap, text).strip()
    return Renumbered(out, {new: old for old, new in new_of.items()}, tuple(dropped))


def remove_markers(text: str, keep: Collection[int]) -> str:
    """``text`` without the markers whose number is not in ``keep``, and without the spaces next to those."""
    return _MARKER_WITH_SPACES.sub(lambda m: m.group(0) if int(m.group(2)) in keep else "", text)


def problems(text: str, citations: Sequence[Citation]) -> list[str]:
    """Every way the answer's markers and its citation list disagree; empty when they are consistent."""
    found: list[str] = []
    seen = markers(text)
    listed = [c.marker for c in citations]
    first_order = list(dict.fromkeys(seen))
    for m in dict.fromkeys(seen):
        if m not in listed:
            found.append(f"marker [{m}] has no passage")
    for m in listed:
        if m not in seen:
            found.append(f"passage [{m}] is never cited")
    if first_order != list(range(1, len(first_order) + 1)):
        found.append(f"markers are not numbered by first appearance: {first_order}")
    if len(set(listed)) != len(listed):
        found.append("a marker is listed twice")
    return found


_CITED_SEGMENT = re.compile(r"(.*?)((?:\s*\[\d{1,9}\])+)|(.+)$", re.DOTALL)


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences and list items, markers stripped, each with the markers that follow it.

    A marker group belongs to the sentence it ends ("Sentence one. [1] Sentence two. [2][3]"), as in citation
    evaluation (ALCE): in "One. Two. [1]" only "Two." is cited; a list item is one unit, whatever it holds; text
    after the last marker has none.
    """
    pieces: list[tuple[str, list[int]]] = []
    lines = answer.splitlines()
    for number, line in enumerate(lines):
        if _TABLE_ROW.match(line):
            # a table: its header row (the one above the |---| rule) names the columns and claims nothing;
            # each cell of a body row is read on its own
            following = lines[number + 1] if number + 1 < len(lines) else ""
            if _TABLE_RULE.match(line) or _TABLE_RULE.match(following):
                continue
            for body in line.strip().strip("|").split("|"):
                pieces.extend(_units_of(body, is_item=False))
            continue
        body = LIST_MARKER.sub("", line)
        is_item = body != line  # a list item is one unit, however many sentences it holds
        pieces.extend(_units_of(body, is_item))
    return pieces


_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$")


def _units_of(body: str, is_item: bool) -> list[tuple[str, list[int]]]:
    """One line's (or table cell's) sentences, each with the markers that follow it."""
    pieces: list[tuple[str, list[int]]] = []
    for match in _CITED_SEGMENT.finditer(body):
        text = match.group(1) if match.group(2) is not None else match.group(3)
        if text is None:
            continue
        markers = [int(m) for m in MARKER.findall(match.group(2) or "")]
        flat = " ".join(text.split())
        found = [flat] if is_item else [flat[u.start : u.end] for u in split_units(flat)]
        found = [sentence for sentence in found if re.search(r"\w", sentence)]
        for i, sentence in enumerate(found):
            pieces.append((sentence, list(markers) if i == len(found) - 1 else []))
    return pieces
