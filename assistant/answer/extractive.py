"""The default answerer: composes an answer from sentences and list items of the retrieved passages.

Offline and deterministic. It scores each unit (sentence or list item) by cosine similarity to the question plus
how many of the question's specific terms it contains, picks units by maximal marginal relevance, keeps list
structure, draws from both sides of a comparison, orders the result so the most direct unit comes first, and
cites every unit with the ``[n]`` of its passage.

It declines (``answered=False``) when the best unit is not similar enough to the question, or when the chosen
units leave the question's specific terms uncovered (the check that tells "what does a CMO earn?" from "what
does a CMO do?", which a similarity threshold alone cannot), or when the question asks for a figure and no
chosen unit holds a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.prompts import Prompts
from assistant.answer.protocols import AnswerRequest, Composition
from assistant.answer.query import QueryAnalyzer, generic_terms
from assistant.config import AnsweringSettings
from assistant.search.corpus_index import CorpusIndex
from assistant.search.lexical import analyze
from assistant.types import Chunk, Citation, FocusTerms, Turn, Unit

_COMPARISON = re.compile(
    r"\b(differ\w*|difference\w*|compare\w*|comparison|versus|vs|contrast\w*|distinguish\w*|unlike)\b", re.I
)
#: Questions that ask for a figure: an answer without a number does not address them.
_QUANTITY = re.compile(
    r"\b(how many|how much (do|does|did|is|are|will|would|can)\b|what (percentage|percent|proportion|number|amount)|"
    r"salary|salaries|paid|earn\w*|compensation|wages?|statistics?|average|rates?)\b",
    re.I,
)
#: A figure: a number that is not part of an identifier ("MS-101", "Level 3" counts, "HC-601" does not).
_NUMBER = re.compile(
    r"(?<![A-Za-z]-)(?<![A-Za-z])\b\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|"
    r"hundred|thousand|million|percent|half|quarter)\b",
    re.I,
)
#: Questions about money ("how much does a CMO make?") need a money figure, not just any number.
_MONEY_QUESTION = re.compile(
    r"\b(salary|salaries|earn\w*|paid|pay|compensation|wages?|income|bonus\w*|cost|costs|price|"
    r"make (per|a|an|each) (year|month|hour)|make annually)\b",
    re.I,
)
_MONEY = re.compile(r"[$€£]\s?\d|\b\d[\d,.]*\s?(dollars|usd|k)\b", re.I)
_WORD = re.compile(r"[a-z0-9]+")
#: Sentences that lean on the one before them make a poor first sentence.
_LEANS_BACK = re.compile(
    r"^(this|that|these|those|they|it|its|their|he|she|also|additionally|in addition|moreover|furthermore|"
    r"finally|firstly|secondly|thirdly|however|as a result|alongside this)\b",
    re.I,
)
#: Sentences about the article rather than its subject ("keep reading to discover ...").
_META = re.compile(
    r"\b(this article|in this article|keep reading|read on|hey guys|let's break it down|hope this gives you|"
    r"bye, for now|we will explore)\b",
    re.I,
)
#: Sentences that talk to the reader about the article rather than about the subject.
_CHATTER = re.compile(
    r"\b(you|your|you're|you'll|let's|this article|keep reading|guys|we will explore)\b", re.I
)


@dataclass(frozen=True)
class Candidate:
    passage_rank: int
    chunk: Chunk
    unit: Unit
    index: int
    vector: np.ndarray
    similarity: float
    terms: frozenset[str]

    @property
    def text(self) -> str:
        return self.chunk.unit_text(self.unit)

    @property
    def key(self) -> tuple[str, int]:
        return (self.chunk.chunk_id, self.index)


class ExtractiveAnswerer:
    """Answers by quoting: offline, deterministic, every sentence verbatim from a passage."""

    name = "extractive"
    streams = False
    condenses = False

    def __init__(self, settings: AnsweringSettings, analyzer: QueryAnalyzer, prompts: Prompts) -> None:
        self.settings = settings
        self.analyzer = analyzer
        self.glossary = analyzer.glossary
        self.prompts = prompts
        self._terms: dict[str, frozenset[str]] = {}

    # -- public -------------------------------------------------------------------------------------------
    def answer(self, request: AnswerRequest) -> Composition:
        index = _index_of(request)
        other = self.glossary.other_meaning_in(request.question)
        if other is not None:
            return self._refuse("refusal_other_meaning", meaning=other[1])
        unknown_name = self._unknown_name(request.question, index)
        if unknown_name:
            return self._refuse("refusal_unknown_name", name=unknown_name)
        focus = request.query.focus
        candidates = self._candidates(request, focus)
        if not candidates:
            return self._refuse("refusal")
        best = max(c.similarity for c in candidates)
        if best < self.settings.min_sentence_similarity:
            return self._refuse("refusal")
        chosen = self._select(candidates, request, focus)
        covered = set().union(*(c.terms for c in chosen))
        if focus.coverage(covered) < self.settings.min_term_coverage:
            return self._refuse("refusal")
        if _MONEY_QUESTION.search(request.question) and not any(_MONEY.search(c.text) for c in chosen):
            return self._refuse("refusal_missing_number")
        if _QUANTITY.search(request.question) and not self._states_figure(request, focus, chosen):
            return self._refuse("refusal_missing_number")
        return self._compose(chosen)

    def stream(self, request: AnswerRequest) -> Iterator[str | Composition]:
        composition = self.answer(request)
        yield composition.text
        yield composition

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        return None

    def _states_figure(self, request: AnswerRequest, focus: FocusTerms, chosen: Sequence[Candidate]) -> bool:
        """For "how many / what percentage / what salary" questions: one chosen unit holds a number *and* is
        about the question's subject (its specific terms other than the quantity words themselves)."""
        index = _index_of(request)
        quantity_terms = {
            t
            for m in _QUANTITY.finditer(request.question)
            for t in self.analyzer.terms(m.group(0), index).weights
        }
        subject = FocusTerms(
            {t: w for t, w in focus.weights.items() if t not in quantity_terms}, focus.unknown
        )
        return any(
            _NUMBER.search(c.text) and subject.coverage(set(c.terms)) >= self.settings.min_term_coverage
            for c in chosen
        )

    def _unknown_name(self, question: str, index: CorpusIndex) -> str:
        """A capitalised name (not the first word, not an acronym we know) that no source mentions."""
        known = {t.acronym.lower() for t in self.glossary.terms}
        words = re.findall(r"[A-Za-z][A-Za-z'’.-]*", question)
        for i, word in enumerate(words):
            bare = word.strip("'’.-")
            lower = bare.lower()
            if (
                i == 0
                or not bare[:1].isupper()
                or bare.isupper()
                or lower in known
                or lower in generic_terms()
            ):
                continue
            if lower not in index.lexical.surface_vocabulary and not all(
                t in index.lexical.idf for t in analyze(lower)
            ):
                return bare
        return ""

    # -- steps --------------------------------------------------------------------------------------------
    def _candidates(self, request: AnswerRequest, focus: FocusTerms) -> list[Candidate]:
        found: list[Candidate] = []
        for rank, scored in enumerate(request.passages):
            chunk = scored.chunk
            vectors = request.unit_vectors.get(chunk.chunk_id)
            if vectors is None or len(vectors) != len(chunk.units):
                continue
            sims = vectors @ request.query_vector
            for i, unit in enumerate(chunk.units):
                text = chunk.unit_text(unit)
                if not _quotable(text, unit):
                    continue
                terms = self._unit_terms(text, chunk)
                found.append(Candidate(rank, chunk, unit, i, vectors[i], float(sims[i]), terms))
        return found

    def _unit_terms(self, text: str, chunk: Chunk) -> frozenset[str]:
        # The heading path counts: a list item under "Leadership Skills" covers a question about skills.
        context = f"{text} {chunk.section_label}"
        terms = self._terms.get(context)
        if terms is None:
            if len(self._terms) > 50_000:  # the same passages come back question after question
                self._terms.clear()
            terms = frozenset(analyze(context + " " + " ".join(self.glossary.additions(context))))
            self._terms[context] = terms
        return terms

    def _relevance(self, c: Candidate, focus: FocusTerms) -> float:
        overlap = focus.coverage(set(c.terms)) if focus.weights else 0.0
        chatter = 0.05 if _CHATTER.search(c.text) else 0.0
        return c.similarity + 0.25 * overlap - 0.01 * c.passage_rank - chatter

    def _select(
        self, candidates: list[Candidate], request: AnswerRequest, focus: FocusTerms
    ) -> list[Candidate]:
        s = self.settings
        rel = {c.key: self._relevance(c, focus) for c in candidates}
        ranked = sorted(candidates, key=lambda c: -rel[c.key])
        top = rel[ranked[0].key]
        floor = max(s.min_sentence_similarity * 0.8, top - 0.25)
        pool = [c for c in ranked if rel[c.key] >= floor or len(ranked) <= s.min_answer_units]
        if len(pool) < s.min_answer_units:
            pool = ranked[: s.min_answer_units]
        chosen = _mmr(pool, rel, s.max_answer_units, lambda_=0.7)
        chosen = self._items_for_lead_ins(chosen, candidates, rel)
        chosen = self._complete_list(chosen, candidates, rel, floor)
        if _COMPARISON.search(request.question) or _COMPARISON.search(request.standalone):
            chosen = self._cover_sides(chosen, ranked, request)
        return chosen

    def _items_for_lead_ins(
        self, chosen: list[Candidate], candidates: list[Candidate], rel: dict[tuple[str, int], float]
    ) -> list[Candidate]:
        """A sentence that introduces a list ("... include:") is only an answer with its items: bring the items
        that follow it in its passage (the most relevant ones, up to 8 units in all), or drop it."""
        out: list[Candidate] = []
        for c in chosen:
            if not c.text.rstrip().endswith(":"):
                out.append(c)
                continue
            items = [
                o
                for o in candidates
                if o.chunk.chunk_id == c.chunk.chunk_id and o.index > c.index and o.unit.is_list_item
            ]
            if not items:
                continue
            room = max(2, 8 - len(chosen))
            best = sorted(items, key=lambda o: -rel[o.key])[:room]
            out.extend([c, *sorted(best, key=lambda o: o.index)])
        return _dedupe(out)

    def _complete_list(
        self,
        chosen: list[Candidate],
        candidates: list[Candidate],
        rel: dict[tuple[str, int], float],
        floor: float,
    ) -> list[Candidate]:
        """When the answer is mostly one list, bring in that list's other relevant items (up to 8 in all)."""
        list_items = [c for c in chosen[:4] if c.unit.is_list_item]
        if len(list_items) < 2 or (not chosen[0].unit.is_list_item and not chosen[1].unit.is_list_item):
            return chosen
        section = max(
            {c.chunk.section for c in list_items},
            key=lambda sec: sum(c.chunk.section == sec for c in list_items),
        )
        same = [
            c
            for c in candidates
            if c.unit.is_list_item
            and c.chunk.section == section
            and c.chunk.doc_id == list_items[0].chunk.doc_id
        ]
        have = {(c.chunk.doc_id, c.chunk.start + c.unit.start) for c in chosen}
        extra = [
            c
            for c in sorted(same, key=lambda c: -rel[c.key])
            if (c.chunk.doc_id, c.chunk.start + c.unit.start) not in have and rel[c.key] >= floor - 0.1
        ]
        room = 8 - len(chosen)
        return chosen + _dedupe(extra)[: max(room, 0)]

    def _cover_sides(
        self,
        chosen: list[Candidate],
        ranked: list[Candidate],
        request: AnswerRequest,
    ) -> list[Candidate]:
        """For a comparison, make sure each compared side (its most specific terms) has a unit in the answer."""
        # The sides are the question's own most specific words ("hospital", "FQHC"), not their expansions.
        own = self.analyzer.terms(request.question, _index_of(request), expand=False).weights
        sides = [
            t
            for t, _ in sorted(own.items(), key=lambda kv: -kv[1])
            if not t.startswith(("differ", "compar", "versu", "contrast", "distinguish"))
        ][:2]
        for term in sides:
            others = [t for t in sides if t != term]

            def about_this_side(c: Candidate, term: str = term, others: list[str] = others) -> bool:
                # a sentence that itself compares ("differences between ...") speaks for neither side alone
                return (
                    term in c.terms
                    and not any(o in c.terms for o in others)
                    and not _COMPARISON.search(c.text)
                )

            if any(about_this_side(c) for c in chosen):
                continue
            best = next((c for c in ranked if about_this_side(c) and c not in chosen), None)
            if best is None:
                continue
            if len(chosen) >= self.settings.max_answer_units:
                chosen = chosen[:-1]
            chosen = [*chosen, best]
        return chosen

    def _compose(self, chosen: Sequence[Candidate]) -> Composition:
        chosen = _dedupe(list(chosen))
        # The first sentence must stand on its own: not lean on a previous one, not introduce a list.
        lead = next(
            (c for c in chosen[:3] if not _LEANS_BACK.match(c.text) and not c.text.rstrip().endswith(":")),
            chosen[0],
        )
        chosen = [lead, *(c for c in chosen if c is not lead)]
        # Passages in the order they are first used (the lead's first); inside a passage, document order.
        order: list[str] = []
        for c in chosen:
            if c.chunk.doc_id + ":" + str(c.chunk.section) not in order:
                order.append(c.chunk.doc_id + ":" + str(c.chunk.section))
        rest = sorted(
            chosen[1:],
            key=lambda c: (
                order.index(c.chunk.doc_id + ":" + str(c.chunk.section)),
                c.chunk.start + c.unit.start,
            ),
        )
        sequence = [lead, *rest]
        numbers: dict[str, int] = {}
        for c in sequence:
            numbers.setdefault(c.chunk.chunk_id, len(numbers) + 1)
        lines: list[str] = []
        prose: list[str] = []
        for c in sequence:
            piece = f"{c.text} [{numbers[c.chunk.chunk_id]}]"
            if c.unit.is_list_item and _in_list_run(c, sequence):
                if prose:
                    lines.append(" ".join(prose))
                    prose = []
                lines.append(f"- {piece}")
            else:
                if lines and lines[-1].startswith("- "):
                    lines.append("")
                prose.append(piece)
        if prose:
            lines.append(" ".join(prose))
        text = "\n".join(_separate_lists(lines)).strip()
        return Composition(text=text, answered=True, citations=self._citations(sequence, numbers))

    def _citations(self, sequence: Sequence[Candidate], numbers: dict[str, int]) -> tuple[Citation, ...]:
        spans: dict[str, list[tuple[int, int]]] = {}
        first: dict[str, Candidate] = {}
        best: dict[str, float] = {}
        for c in sequence:
            spans.setdefault(c.chunk.chunk_id, []).append((c.unit.start, c.unit.end))
            first.setdefault(c.chunk.chunk_id, c)
            best[c.chunk.chunk_id] = max(best.get(c.chunk.chunk_id, -1.0), c.similarity)
        return tuple(
            Citation(
                marker=numbers[cid],
                doc_id=first[cid].chunk.doc_id,
                title=first[cid].chunk.title,
                source=first[cid].chunk.source_path,
                section=first[cid].chunk.section_label,
                text=first[cid].chunk.text,
                highlights=tuple(sorted(set(spans[cid]))),
                score=best[cid],
                kind=first[cid].chunk.kind,
            )
            for cid in sorted(numbers, key=numbers.__getitem__)
        )

    def _refuse(self, phrase: str, **values: str) -> Composition:
        return Composition(text=self.prompts.phrase(phrase, **values), answered=False, citations=())


def _index_of(request: AnswerRequest) -> CorpusIndex:
    if request.index is None:
        raise ValueError("The extractive answerer needs the corpus index in its AnswerRequest.")
    return request.index


def _quotable(text: str, unit: Unit) -> bool:
    """Questions, fragments and talk about the article itself are not answer material."""
    stripped = text.strip()
    if stripped.endswith("?") or _META.search(stripped):
        return False
    words = stripped.split()
    return len(words) >= (3 if unit.is_list_item else 5)


def _mmr(pool: list[Candidate], rel: dict[tuple[str, int], float], k: int, lambda_: float) -> list[Candidate]:
    """Maximal marginal relevance over unit vectors; near-duplicates (overlapping chunks) are skipped."""
    chosen: list[Candidate] = []
    remaining = _dedupe(pool)
    while remaining and len(chosen) < k:

        def score(c: Candidate) -> float:
            redundancy = max((float(c.vector @ s.vector) for s in chosen), default=0.0)
            return lambda_ * rel[c.key] - (1 - lambda_) * redundancy

        best = max(remaining, key=score)
        chosen.append(best)
        remaining = [c for c in remaining if c is not best and float(c.vector @ best.vector) < 0.95]
    return chosen


def _dedupe(items: list[Candidate]) -> list[Candidate]:
    """The same sentence can sit in two overlapping chunks: keep its first occurrence."""
    seen: set[tuple[str, str]] = set()
    out = []
    for c in items:
        key = (c.chunk.doc_id, " ".join(c.text.split()))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _in_list_run(c: Candidate, sequence: Sequence[Candidate]) -> bool:
    return (
        sum(
            1
            for o in sequence
            if o.unit.is_list_item and o.chunk.section == c.chunk.section and o.chunk.doc_id == c.chunk.doc_id
        )
        >= 2
    )


def _separate_lists(lines: list[str]) -> list[str]:
    """A blank line between prose and a bullet list, so Markdown renders the list."""
    out: list[str] = []
    for line in lines:
        if out and out[-1] and line.startswith("- ") != out[-1].startswith("- ") and line:
            out.append("")
        out.append(line)
    return out
