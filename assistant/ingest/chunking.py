"""Document -> Chunks: by heading, then paragraphs and list items, then sentences.

Chunks are sized in the embedding model's own word pieces so none is silently truncated (at most 256, within
the 384 all-mpnet-base-v2 reads), overlap by whole sentences, never cross a heading, and are exact slices of the document text so that
citations and highlights point at the source characters.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.config import MODEL_MAX_TOKENS
from assistant.ingest.sentences import split_units
from assistant.types import Chunk, Document, Unit, context_header

TokenCounter = Callable[[Sequence[str]], list[int]]
# The title's closing spaces and #s are stripped in Python: "(.+?)[ \t#]*$" backtracks quadratically on a long
# heading line of spaces ("# a", a megabyte of spaces, "b").
_HEADING_LINE = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.+)$", re.MULTILINE)


def _heading_title(raw: str) -> str:
    """The title of a heading line: its text without the closing spaces and #s (the first character stays)."""
    return (raw[0] + raw[1:].rstrip(" \t#")).strip()


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]
    start: int
    end: int


def sections(text: str) -> list[Section]:
    """Split ``text`` at Markdown headings; each section carries its heading path and the span of its body."""
    found: list[Section] = []
    stack: list[tuple[int, str]] = []
    body_start = 0
    path: tuple[str, ...] = ()
    for match in _HEADING_LINE.finditer(text):
        found.append(Section(path, body_start, match.start()))
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, _heading_title(match.group(2))))
        path = tuple(title for _, title in stack)
        body_start = match.end()
    found.append(Section(path, body_start, len(text)))
    return [s for s in found if text[s.start : s.end].strip()]


def chunk_id(doc_id: str, start: int, text: str) -> str:
    """Content-derived id: the same text at the same place of the same document always gets the same id."""
    return hashlib.sha256(f"{doc_id}\x00{start}\x00{text}".encode()).hexdigest()[:32]


class Chunker:
    """Packs units into chunks of at most ``max_tokens`` model tokens, the context header included."""

    def __init__(self, count_tokens: TokenCounter, max_tokens: int = 160, overlap_tokens: int = 32) -> None:
        if max_tokens > MODEL_MAX_TOKENS - 2:
            raise ValueError(f"max_tokens must be at most {MODEL_MAX_TOKENS - 2}, got {max_tokens}")
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def split(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        for section in sections(doc.text):
            units = split_units(doc.text[section.start : section.end], offset=section.start)
            if not units:
                continue
            header = context_header(doc.title, section.path)
            budget = self.max_tokens - self.count_tokens([header])[0] - 1
            units = self._fit_units(doc.text, units, max(budget, 16))
            costs = self.count_tokens([doc.text[u.start : u.end] for u in units])
            gaps = [
                0,
                *self.count_tokens([doc.text[a.end : b.start] for a, b in itertools.pairwise(units)]),
            ]
            for first, last in self._pack(doc.text, units, costs, gaps, max(budget, 16)):
                start, end = units[first].start, units[last].end
                text = doc.text[start:end]
                chunks.append(
                    Chunk(
                        chunk_id=chunk_id(doc.doc_id, start, text),
                        doc_id=doc.doc_id,
                        title=doc.title,
                        kind=doc.kind,
                        source_path=doc.source_path,
                        section=section.path,
                        text=text,
                        start=start,
                        end=end,
                        ordinal=len(chunks),
                        units=tuple(
                            Unit(u.start - start, u.end - start, u.is_list_item)
                            for u in units[first : last + 1]
                        ),
                    )
                )
        return chunks

    def _pack(
        self, text: str, units: list[Unit], costs: list[int], gaps: list[int], budget: int
    ) -> list[tuple[int, int]]:
        """Greedy packing into (first, last) unit ranges; a new chunk starts with the previous one's tail.

        ``gaps[i]`` is the cost of the text between unit i-1 and unit i (separators, list markers, a blockquote),
        counted whenever both units are in one chunk, so the whole chunk text stays within the budget.
        """
        ranges: list[tuple[int, int]] = []
        first, used = 0, 0
        for i, cost in enumerate(costs):
            starts_block = i > first and "\n\n" in text[units[i - 1].end : units[i].start]
            step = cost + (gaps[i] if i > first else 0)
            if i > first and (used + step > budget or (starts_block and used > 0.75 * budget)):
                ranges.append((first, i - 1))
                # overlap: whole trailing units of the chunk just closed, within the overlap budget
                back, carried = i, 0
                while back - 1 > first and carried + costs[back - 1] + gaps[back] <= self.overlap_tokens:
                    back -= 1
                    carried += costs[back] + gaps[back + 1]
                if carried + cost + gaps[i] > budget:
                    back, carried = i, 0
                first, used = back, carried
                step = cost + (gaps[i] if i > first else 0)
            used += step
        ranges.append((first, len(costs) - 1))
        return ranges

    def _fit_units(self, text: str, units: list[Unit], budget: int) -> list[Unit]:
        """Cut any unit longer than the budget into word-aligned pieces (rare: run-on sentences, tables).

        Linear in the unit's length: every word is counted once (in one batch) and a piece grows by adding its
        words' counts (word pieces never span whitespace); only each finished piece is counted again as a whole,
        and cut shorter in the rare case where its words tokenize differently together.
        """
        costs = self.count_tokens([text[u.start : u.end] for u in units])
        fitted: list[Unit] = []
        for unit, cost in zip(units, costs, strict=True):
            if cost <= budget:
                fitted.append(unit)
                continue
            words, word_costs = self._pieces(text, unit, budget)
            first = 0
            while first < len(words):
                last, used = first, word_costs[first]
                while last + 1 < len(words) and used + word_costs[last + 1] <= budget:
                    last += 1
                    used += word_costs[last]
                last = self._shrink(text, words, first, last, budget)
                fitted.append(Unit(words[first][0], words[last][1], unit.is_list_item))
                first = last + 1
        return fitted

    def _shrink(self, text: str, words: list[tuple[int, int]], first: int, last: int, budget: int) -> int:
        """The last word of the longest piece from ``words[first]`` to at most ``words[last]`` within the budget
        as counted whole (at least one word)."""
        if last == first or self.count_tokens([text[words[first][0] : words[last][1]]])[0] <= budget:
            return last
        low, high = first, last - 1  # binary search: the piece up to ``low`` fits (one word always does)
        while low < high:
            mid = (low + high + 1) // 2
            if self.count_tokens([text[words[first][0] : words[mid][1]]])[0] <= budget:
                low = mid
            else:
                high = mid - 1
        return low

    def _pieces(self, text: str, unit: Unit, budget: int) -> tuple[list[tuple[int, int]], list[int]]:
        """Word spans of a unit and their token counts; a single word longer than the budget (a URL, text without
        spaces) is cut too."""
        found = [
            (m.start() + unit.start, m.end() + unit.start)
            for m in re.finditer(r"\S+", text[unit.start : unit.end])
        ]
        found_costs = self.count_tokens([text[start:end] for start, end in found])
        spans: list[tuple[int, int]] = []
        costs: list[int] = []
        for (start, end), cost in zip(found, found_costs, strict=True):
            if cost <= budget:
                spans.append((start, end))
                costs.append(cost)
                continue
            step = max(4, (end - start) * budget // (2 * cost))
            cut = [(s, min(s + step, end)) for s in range(start, end, step)]
            spans.extend(cut)
            costs.extend(self.count_tokens([text[s:e] for s, e in cut]))
        return spans, costs
