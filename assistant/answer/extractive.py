"""The default answerer: composes an answer from sentences and list items of the retrieved passages.

Offline and deterministic. It scores each unit (sentence or list item) by cosine similarity to the question plus
how many of the question's specific terms it contains, picks units by maximal marginal relevance, keeps list
structure, draws from both sides of a comparison (and shows a comparison as a two-column table of quotes, one
column per side, every cell cited), orders the result so the most direct unit comes first, and cites every
unit with the ``[n]`` of its passage.

Whether it answers at all is the answerability model's call (:mod:`assistant.answer.answerability`): a
calibrated decision over the evidence, plus rules for names and money the sources lack.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

import numpy as np

from assistant.answer.answerability import (
    MONEY,
    SUBJECT_COVERAGE,
    AnswerabilityModel,
    Evidence,
    Sentence,
    absent_word,
    asks_figure,
    asks_money,
    figure_fit,
    gather,
    states_asked_figure,
    states_figure,
    subject_coverage,
)
from assistant.answer.doers import (
    asked_chair,
    asked_deed,
    asked_identity,
    names_doer,
    states_chair,
    states_identity,
    unfilled_slot,
)
from assistant.answer.figure_kinds import without_measures
from assistant.answer.prompts import Prompts
from assistant.answer.protocols import AnswerRequest, Composition
from assistant.answer.query import QueryAnalyzer, generic_terms
from assistant.answer.roles import compared_role, compares
from assistant.answer.series import Series, asked_series, asked_span_of_series
from assistant.config import AnsweringSettings
from assistant.search.corpus_index import CorpusIndex
from assistant.search.lexical import analyze, stopwords
from assistant.types import Chunk, Citation, FocusTerms, Turn, Unit

_COMPARISON = re.compile(
    r"\b(differ\w*|difference\w*|compare\w*|comparison|versus|vs|contrast\w*|distinguish\w*|unlike)\b", re.I
)
#: Documents one answer quotes at most, unless the question compares (then each side needs its own).
MAX_DOCUMENTS = 3
#: Sentences one answer quotes at most, with the sentences and lead-ins brought in as context.
MAX_QUOTED = 8
#: A lead-in this relevant (among the first this many chosen) is quoted with its whole list when the list fits in
#: an answer: "Cases are referred for review when any of these triggers occurs:" announces every trigger, and
#: three of five read as all of them (on dev, key facts unchanged, so the list's other items added nothing
#: wrong; 1 and 2 gave the same answers).
LEAD_IN_WHOLE_RANK = 2
#: At most this many sentences are brought before one that leans back, to reach one that does not: a chatty
#: article's paragraph may run five or six sentences of "They ..." after the one that names its subject. A
#: sentence whose context does not fit in the answer any more is left out with it. Chosen on dev over 3 and 5
#: (dev answers with a later sentence cut off from the one it follows: 0.117 / 0.081 / 0.076 for 3 / 5 / 7, key
#: facts 0.687 / 0.685 / 0.685).
CONTEXT_RUN = 7
#: Passages BM25 brings for a role a question compares with the CMO, besides the retrieved ones.
ROLE_SEARCH = 20
#: Sentences that lean on the one before them make a poor first sentence: a pronoun or demonstrative, a word
#: that continues or sets against what came before ("Alternatively, ...", "Indeed, ...", "For example, ..."),
#: also after an interjection ("Well, it's definitely not a 9-to-5 desk job!").
_LEANS_BACK = re.compile(
    r"^((well|so|now|yes|no|oh|okay|ok),?\s+)?"
    r"(this|that|these|those|they|it|its|their|he|she|also|additionally|in addition|moreover|furthermore|"
    r"finally|firstly|secondly|thirdly|lastly|however|as a result|alongside this|such|alternatively|instead|"
    r"otherwise|similarly|likewise|therefore|thus|hence|consequently|indeed|in fact|for example|for instance|"
    r"on the other hand|in contrast|by contrast|conversely|even so|after all|besides|nevertheless|nonetheless|"
    r"meanwhile|but|and|yet)\b",
    re.I,
)
#: Sentences that say what the subject is like or sum up rather than state it: an analogy ("Much like a play
#: that relies on a director, ...") or a closing line ("In conclusion, a CMO is a key figure in healthcare.").
_INDIRECT = re.compile(
    r"^((much|just) (like|as)|like a|imagine|think of|in conclusion|in summary|to sum( it)? up|all in all|"
    r"in short)\b",
    re.I,
)
#: Words naming the role itself, not a side of a comparison ("hospital CMO", "health center CMO").
_ROLE_WORDS = frozenset(["cmo", "cmos", "chief", "medical", "officer", "officers", "job", "role"])
#: Questions about a likeness ("a CMO is like the director of a stage show: what's the comparison getting at?"):
#: then the analogy is the answer.
_ASKS_LIKENESS = re.compile(r"\b(is|are) like\b|\banalog\w*|\bmetaphor\w*|\bcomparison\b", re.I)
#: A list item that names its subject before a colon: "Weekend call: $2,400 for the full weekend."
_LABELLED = re.compile(r"^([A-Z][^:.;!?]{1,50}):\s+\S")
#: A label naming a party of an organisation ("Department chairs:", "Quality Department:", "Medical Staff Office:"):
#: a policy's roles list says what each party does there.
_PARTY = re.compile(
    r"\b(chairs?|chairpersons?|officers?|directors?|department|office|committee|council|coordinator|managers?|"
    r"supervisors?|team|staff|physicians?|practitioners?|nurses?|board|leaders?|president|ceo|cno|cfo|coo|"
    r"human resources|pharmacists?|scheduler|operator|administrators?|sponsor|mentor)\b",
    re.I,
)
#: A definitions section's entry ("Weeknight call: the duty period from 17:00 ..."), and the questions it opens
#: an answer to: what something is or means, what counts as it (or, by _ASKS_WHO, who or which).
_DEFINITIONS = re.compile(r"\b(definitions?|terms|glossary)\b", re.I)
_ASKS_MEANING = re.compile(
    r"\bwhat(?:'s|’s|s)?\s+(?:is|are|a|an|the)\b|\bdefin\w*|\bmeans?\b|\bmeaning\b|\bcounts? as\b|"
    r"\bconsidered\b",
    re.I,
)
#: A question asking which party does something: a roles list's entries answer it by their labels.
_ASKS_WHO = re.compile(r"\b(who|whom|whose|which)\b", re.I)
#: Sentences about the article rather than its subject ("keep reading to discover ..."), and framing that
#: announces a subject without saying anything about it ("Understanding the role ... is essential.").
_META = re.compile(
    r"\b(this article|in this article|keep reading|read on|hey guys|let's break it down|hope this gives you|"
    r"bye, for now|we will explore)\b|"
    r"^([\w ,]+, )?understanding\b.{0,160}\b(is|are) (important|essential|crucial|key|vital)\b",
    re.I,
)
#: Sentences about the document itself rather than its subject ("This policy describes ...").
_SELF_DESCRIPTION = re.compile(
    r"^(this|the) (policy|procedure|document|article|guide|guideline|plan)\b.{0,40}\b(describes|establishes|"
    r"applies|sets out|outlines|defines|explains|covers|provides|is intended)\b|^the purpose of this\b|"
    r"\billustrative example policy\b|\breplace it with your organization",
    re.I,
)
#: Sections recording how the document changed ("Revision History"): what the policy said before, and when it
#: changed, not what it says now.
_HISTORY = re.compile(r"\b(revision|version|change|document|amendment) (history|log)\b|\bchangelog\b", re.I)
#: Questions that ask about the document itself (its purpose, scope): then such sentences are the answer.
_ABOUT_DOCUMENT = re.compile(
    r"\b(purpose|scope|apply|applies|cover|covers|who does (it|this|the policy))\b", re.I
)
#: Questions that ask how a rule changed ("when was the stipend changed?"): then the revision history answers.
_ABOUT_CHANGES = re.compile(r"\b(versions?|revis\w*|chang(e|ed|es)|updated?|history|used to)\b", re.I)
#: First-person marketing by the article's publisher ("At Allied Executive Solutions, we ...").
_VENDOR = re.compile(
    r"^(at [\w&.' -]+, )?(we|our)\b|\b(our (team|firm|company|clients|services|experts))\b", re.I
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
    chatter: bool = False
    #: the conversation has shown it already (in an earlier answer)
    shown: bool = False

    @property
    def text(self) -> str:
        return self.chunk.unit_text(self.unit)

    @property
    def key(self) -> tuple[str, int]:
        return (self.chunk.chunk_id, self.index)

    @property
    def sentence(self) -> Sentence:
        """What the answerability evidence needs of it."""
        return Sentence(self.text, self.terms | _title_terms(self.chunk.title), self.similarity)


@dataclass(frozen=True)
class _UnitFacts:
    """What is known about a unit whatever the question."""

    quotable: bool
    #: a sentence about the document itself ("This policy describes ...")
    self_description: bool
    #: a line of the document's revision history
    history: bool
    folded: str
    terms: frozenset[str]
    chatter: bool


class ExtractiveAnswerer:
    """Answers by quoting: offline, deterministic, every sentence verbatim from a passage."""

    name = "extractive"
    streams = False
    condenses = False

    def __init__(
        self,
        settings: AnsweringSettings,
        analyzer: QueryAnalyzer,
        prompts: Prompts,
        model: AnswerabilityModel | None = None,
    ) -> None:
        self.settings = settings
        self.analyzer = analyzer
        self.glossary = analyzer.glossary
        self.prompts = prompts
        self.model = model or AnswerabilityModel.load()
        self._spelled_out = {t.acronym.lower(): tuple(t.expansions) for t in self.glossary.terms}
        self._facts: dict[str, tuple[_UnitFacts, ...]] = {}

    # -- public -------------------------------------------------------------------------------------------
    def answer(self, request: AnswerRequest) -> Composition:
        other = self.glossary.other_meaning_in(request.question)
        if other is not None:
            return self._refuse("refusal_other_meaning", meaning=other[1])
        passages = [p.chunk for p in request.passages]
        series = asked_series(request.standalone, passages, _index_of(request)) or asked_span_of_series(
            request.standalone, passages, _index_of(request)
        )
        if series is not None and (listed := self._series(series, request)) is not None:
            return listed
        role = compared_role(request.question)
        if role is not None and not self._compared(role, request):
            return self._refuse("refusal_not_compared", role=role)
        evidence, chosen = self.assess(request)
        if evidence is None or not self.model.answerable(evidence):
            return self._refusal_for(evidence)
        sequence = self._arrange(chosen, request)
        return self._side_by_side(sequence, request) or self._compose(sequence)

    def assess(self, request: AnswerRequest) -> tuple[Evidence | None, list[Candidate]]:
        """The sentences that would answer, and the evidence that they do (None: no sentence to quote)."""
        index = _index_of(request)
        focus = request.query.focus
        candidates = self._candidates(request, focus)
        if not candidates:
            return None, []
        chosen = self._select(candidates, request, focus)
        sentences = [c.sentence for c in chosen]
        # What the conversation has shown counts as evidence only when it is the most relevant sentence again: the
        # earlier answer is near a follow-up in meaning whatever the sources say of the new question ("and who
        # decides that?" after the escalation levels), and only the question's own answer says they answer it.
        weighed = [c.similarity for c in candidates if not c.shown or c is chosen[0]] or [0.0]
        best = max(weighed)
        evidence = gather(
            question=request.question,
            resolved=request.standalone,
            similarities=weighed,
            chosen=sentences,
            index=index,
            subject_covered=asks_figure(request.asking)
            and states_figure(request.standalone, sentences, index, best, request.subject),
            spelled_out=self._spelled_out,
            asking=request.asking,
            subject=request.subject,
        )
        # "When does the MEC meet?": "The Credentials Committee reviews the file at its monthly meeting on the
        # second Tuesday of each month and forwards a recommendation to the MEC." says when another group meets;
        # "who chairs the Peer Review Committee?": not "The department chair reviews each OPPE report ...".
        unfilled = unfilled_slot(
            request.question, [c.text for c in chosen], self._spelled_out, index.mentions
        )
        if unfilled is not None:
            evidence = replace(evidence, unfilled=unfilled)
        if request.elliptical and not evidence.missing_name:
            # "and for diabetes control?": the follow-up's words name all it asks about
            evidence = replace(evidence, missing_name=absent_word(request.question, index))
        return evidence, chosen

    def stream(self, request: AnswerRequest) -> Iterator[str | Composition]:
        composition = self.answer(request)
        yield composition.text
        yield composition

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        return None

    def _refusal_for(self, evidence: Evidence | None) -> Composition:
        """A refusal whose reason is true: a name only when the question names something the sources lack, a
        figure only when it asks for one; otherwise that the sources do not cover it."""
        if evidence is not None and evidence.missing_name and not evidence.missing_name.isupper():
            # Named back only when written as a name: an all-capitals word may be an injected payload ("PWNED").
            return self._refuse("refusal_unknown_name", name=evidence.missing_name)
        if evidence is not None and evidence.unfilled is not None:
            slot, party = evidence.unfilled
            return self._refuse(f"refusal_no_{slot}", party=party)
        if evidence is not None and (evidence.figure_missing or evidence.money_missing):
            return self._refuse("refusal_missing_number")
        return self._refuse("refusal")

    # -- steps --------------------------------------------------------------------------------------------
    def _candidates(self, request: AnswerRequest, focus: FocusTerms) -> list[Candidate]:
        found: list[Candidate] = []
        about_document = bool(_ABOUT_DOCUMENT.search(request.standalone))
        about_changes = bool(_ABOUT_CHANGES.search(request.standalone))
        shown = [" ".join(t.content.split()) for t in request.history if t.role == "assistant"]
        index = _index_of(request)
        more = bool(shown) and _ASKS_MORE.search(request.question) is not None
        for rank, scored in enumerate(request.passages):
            chunk = scored.chunk
            vectors = request.unit_vectors.get(chunk.chunk_id)
            if vectors is None or len(vectors) != len(chunk.units):
                continue
            sims = vectors @ request.query_vector
            for i, facts in enumerate(self._unit_facts(chunk)):
                # Not a sentence about the document itself (unless asked about), not the publisher's own
                # marketing; a sentence the conversation has shown already only when it answers clearly better.
                if (
                    not facts.quotable
                    or (facts.self_description and not about_document)
                    or (facts.history and not about_changes)
                ):
                    continue
                seen = any(facts.folded in turn for turn in shown)
                if seen and more:
                    continue  # "what else?" asks for what has not been shown
                if seen and request.subject is not None and request.elliptical:
                    # "same at the health center sites?": a sentence shown for the earlier question that speaks
                    # of what the follow-up names is its answer, quoted again at no price
                    sentence = Sentence(facts.folded, facts.terms | _title_terms(chunk.title))
                    seen = subject_coverage(request.subject, sentence, index) < SUBJECT_COVERAGE
                found.append(
                    Candidate(
                        rank,
                        chunk,
                        chunk.units[i],
                        i,
                        vectors[i],
                        float(sims[i]),
                        facts.terms,
                        facts.chatter,
                        seen,
                    )
                )
        return found + self._holders(request)

    def _holders(self, request: AnswerRequest) -> list[Candidate]:
        """For a question asking who holds a role ("who is my executive sponsor?"), the sentences saying who
        ("The Chief Executive Officer (CEO) is the executive sponsor for a new CMO.") from the passages BM25 finds
        for the role, when retrieval brought only the role's definition and duties (two passages a document)."""
        role = asked_identity(request.question)
        if role is None:
            return []
        index = _index_of(request)
        have = {p.chunk.chunk_id for p in request.passages}
        found = index.lexical.search(role, ROLE_SEARCH, request.query.filters)
        chunks = [c for c, _ in found if c.chunk_id not in have]
        vectors = index.unit_vectors(chunks)
        holders: list[Candidate] = []
        for chunk in chunks:
            units = vectors.get(chunk.chunk_id)
            if units is None or len(units) != len(chunk.units):
                continue
            for i, facts in enumerate(self._unit_facts(chunk)):
                text = chunk.unit_text(chunk.units[i])
                if (
                    facts.quotable
                    and not _LABELLED.match(text)
                    and states_identity(text, role, self._spelled_out)
                ):
                    similarity = float(units[i] @ request.query_vector)
                    holders.append(
                        Candidate(
                            len(request.passages), chunk, chunk.units[i], i, units[i], similarity, facts.terms
                        )
                    )
        return holders

    def _unit_facts(self, chunk: Chunk) -> tuple[_UnitFacts, ...]:
        """What the question does not change about each unit of a passage, worked out once per passage (ids are
        content hashes: the same passages come back question after question)."""
        facts = self._facts.get(chunk.chunk_id)
        if facts is None:
            if len(self._facts) > 20_000:
                self._facts.clear()
            facts = tuple(self._facts_of(chunk, unit) for unit in chunk.units)
            self._facts[chunk.chunk_id] = facts
        return facts

    def _facts_of(self, chunk: Chunk, unit: Unit) -> _UnitFacts:
        text = chunk.unit_text(unit)
        quotable = _quotable(text, unit) and not (chunk.kind == "article" and _VENDOR.search(text))
        return _UnitFacts(
            quotable=quotable,
            self_description=bool(_SELF_DESCRIPTION.search(text)),
            history=bool(_HISTORY.search(chunk.section_label)),
            folded=" ".join(text.split()),
            terms=self._unit_terms(text, chunk) if quotable else frozenset(),
            chatter=bool(_CHATTER.search(text)),
        )

    def _unit_terms(self, text: str, chunk: Chunk) -> frozenset[str]:
        # The heading path counts: a list item under "Leadership Skills" covers a question about skills.
        # A time unit that measures ("within 90 days") says how long, not what the sentence is about.
        context = without_measures(f"{text} {chunk.section_label}")
        return frozenset(analyze(context + " " + " ".join(self.glossary.additions(context))))

    def _relevance(self, c: Candidate, focus: FocusTerms) -> float:
        overlap = focus.coverage(c.terms) if focus.weights else 0.0
        chatter = 0.05 if c.chatter else 0.0
        shown = SHOWN_PRICE if c.shown else 0.0
        return c.similarity + 0.25 * overlap - 0.01 * c.passage_rank - chatter - shown

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
            # Made up to min_answer_units with the next most relevant sentences, not with a list's lead-in: it
            # would bring its items whatever they say ("The following terms are used in this policy:" and the
            # on-call policy's definitions for "what's an SSE?").
            padding = [c for c in ranked if c not in pool and not c.text.rstrip().endswith(":")]
            pool = pool + padding[: s.min_answer_units - len(pool)]
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
        that follow it in its passage (all of them for one of the most relevant, LEAD_IN_WHOLE_RANK, when they fit
        in an answer; else the most relevant ones, up to 8 units in all), or drop it."""
        out: list[Candidate] = []
        for position, c in enumerate(chosen):
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
            if position < LEAD_IN_WHOLE_RANK and len(items) <= MAX_QUOTED - 1:
                room = len(items)
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
            sorted({c.chunk.section for c in list_items}),
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
        sides = [term for term, _ in self._sides(request)]
        for term in sides:
            others = [t for t in sides if t != term]
            if any(_about_side(c.terms, c.text, term, others) for c in chosen):
                continue
            # not a lead-in: without its items it would end the answer with "... include:"
            best = next(
                (
                    c
                    for c in ranked
                    if _about_side(c.terms, c.text, term, others)
                    and c not in chosen
                    and not c.text.rstrip().endswith(":")
                ),
                None,
            )
            if best is None:
                continue
            if len(chosen) >= self.settings.max_answer_units:
                chosen = chosen[:-1]
            chosen = [*chosen, best]
        return chosen

    def _sides(self, request: AnswerRequest) -> list[tuple[str, str]]:
        """The two things a comparison compares, each as (its term, the words its column is headed from). Read
        from the question's wording when it names them as kinds of the role or around the word that compares
        ("a hospital CMO ... an FQHC CMO", "a CMO at a community health center", "at the health center compared
        with the hospital", "cmo vs ceo"): each side by its phrase's last word, in the order asked, headed by
        that phrase. Otherwise the question's own most specific terms ("hospital", "FQHC"), not their
        expansions, nor the words that ask for the comparison, each headed from the question."""
        named = _named_sides(request.question)
        if named:
            return named
        own = self.analyzer.terms(request.question, _index_of(request), expand=False).weights
        return [
            (t, request.question)
            for t, _ in sorted(own.items(), key=lambda kv: -kv[1])
            if not t.startswith(("differ", "compar", "versu", "contrast", "distinguish"))
        ][:2]

    def _side_by_side(self, sequence: list[Candidate], request: AnswerRequest) -> Composition | None:
        """A comparison answered as a two-column table of quotes, one column per side, each cell cited; what
        speaks of both sides (or compares) opens the answer above the table, and what speaks of neither follows
        it. None when the question does not compare, or the quotes do not speak to each side on its own."""
        if not _COMPARISON.search(request.question) or len(named := self._sides(request)) != 2:
            return None
        sides = [term for term, _ in named]
        columns: dict[str, list[list[Candidate]]] = {side: [] for side in sides}
        above: list[Candidate] = []  # what speaks of both sides: it opens the answer
        below: list[Candidate] = []  # what speaks of neither: after the table
        quoted = {c.key for c in sequence}
        for run, side, both in self._sided_pieces(sequence, sides):
            if side is None:
                (above if both else below).extend(run)
            else:
                # A cell says what its side's sentence goes on to say of it: "A hospital CMO primarily focuses
                # on ... ." with "Due to ..., they often deal with complex cases at a higher rate."
                more = [
                    m
                    for i in _continuation(run[-1])
                    if (m := _unit_candidate(run[-1], i, request)) is not None and m.key not in quoted
                ]
                quoted.update(m.key for m in more)
                columns[side].append(run + more)
        if not all(columns.values()) or any("|" in c.text or "\n" in c.text for c in sequence):
            return None
        left, right = columns[sides[0]], columns[sides[1]]
        pairs = [
            (left[i] if i < len(left) else [], right[i] if i < len(right) else [])
            for i in range(max(len(left), len(right)))
        ]
        # markers numbered in reading order: what is above, the table row by row (left cell first), what follows
        ordered = [*above, *(c for pair in pairs for run in pair for c in run), *below]
        numbers: dict[str, int] = {}
        for c in ordered:
            numbers.setdefault(c.chunk.chunk_id, len(numbers) + 1)

        def cited(run: list[Candidate]) -> str:
            return " ".join(f"{c.text} [{numbers[c.chunk.chunk_id]}]" for c in run)

        labels = [_side_label(side, words, self._spelled_out) for side, words in named]
        rows = [f"| {labels[0]} | {labels[1]} |", "| --- | --- |"]
        rows.extend(f"| {cited(a)} | {cited(b)} |" for a, b in pairs)
        text = "\n\n".join(
            part for part in (_written(above, numbers), "\n".join(rows), _written(below, numbers)) if part
        )
        return Composition(text=text, answered=True, citations=self._citations(ordered, numbers))

    @staticmethod
    def _sided_pieces(
        sequence: list[Candidate], sides: list[str]
    ) -> Iterator[tuple[list[Candidate], str | None, bool]]:
        """Each piece of the sequence's runs (:func:`_pieces`) with the side it speaks of alone (None: neither or
        both) and whether it speaks of both or compares. A piece of neither side that goes on from a piece of one
        side in the same passage stays in that side's cell ("The health center CMO focuses on primary care ..."
        after "The FQHC sites take part in the Health Center Program ...")."""
        others = {t: [o for o in sides if o != t] for t in sides}
        for whole in _runs(sequence):
            grouped: list[tuple[list[Candidate], str | None, bool]] = []
            for piece in _pieces(whole):
                terms = frozenset().union(*(c.terms for c in piece))
                text = " ".join(c.text for c in piece)
                side = next((t for t in sides if _about_side(terms, text, t, others[t])), None)
                both = all(t in terms for t in sides) or _COMPARISON.search(text) is not None
                previous = grouped[-1][1] if grouped else None
                if side is None and not both and not any(t in terms for t in sides):
                    side = previous
                if grouped and side is not None and side == previous:
                    grouped[-1][0].extend(piece)  # the same side goes on: one cell
                else:
                    grouped.append((list(piece), side, both))
            yield from grouped

    def _arrange(self, chosen: list[Candidate], request: AnswerRequest) -> list[Candidate]:
        """The chosen sentences in the order they are read: the most direct first, then by passage in document
        order; from at most three documents unless the question compares; each with what it leans on."""
        chosen = _dedupe(chosen)
        # The lead is chosen from every chosen sentence, and its document is one of the three kept: the most
        # direct sentence is not dropped because three other documents held more relevant ones.
        lead = self._lead(chosen, request)
        if not (_COMPARISON.search(request.question) or _COMPARISON.search(request.standalone)):
            documents = list(dict.fromkeys(c.chunk.doc_id for c in [lead, *chosen]))[:MAX_DOCUMENTS]
            chosen = [c for c in chosen if c.chunk.doc_id in documents]
        # Passages in the order they are first used (the lead's first); inside a passage, document order.
        order = list(dict.fromkeys(_place(c) for c in [lead, *chosen]))
        rest = sorted(
            (c for c in chosen if c is not lead),
            key=lambda c: (order.index(_place(c)), c.chunk.start + c.unit.start),
        )
        if lead.text.rstrip().endswith(":"):  # a lead-in opens: its items follow it at once
            items = [
                c for c in rest if c.chunk is lead.chunk and c.index > lead.index and c.unit.is_list_item
            ]
            rest = items + [c for c in rest if c not in items]
        return _trimmed(_with_context([lead, *rest], request))

    def _lead(self, chosen: list[Candidate], request: AnswerRequest) -> Candidate:
        """The sentence that answers most directly: for a figure question, the one stating the asked figure
        about the asked subject (an amount, when money is asked); otherwise, of the three most relevant that stand
        on their own and are not a roles-list entry about a party the question does not ask about, the one holding
        most of the question's specific terms. A question comparing the CMO with another role opens with the
        sentence setting the two against each other ("While both are top-level executives ..., a Chief Medical
        Officer focuses on ..., while a Chief Executive Officer oversees ..." for "cmo vs ceo, who's responsible
        for what?", not a policy's "Chief Executive Officer: approves privileges ...")."""
        role = compared_role(request.question)
        if role is not None:
            setting = [c for c in chosen if compares(role, [c.text], self._spelled_out) and _stands(c)]
            if setting:
                return setting[0]
        if asks_figure(request.asking):
            index = _index_of(request)
            fits = [
                (figure_fit(request.standalone, c.sentence, index, request.subject), -i)
                for i, c in enumerate(chosen)
            ]
            # Of the sentences stating a figure about the asked subject, the one closest to the question in meaning:
            # "escalated to the CMO within 2 hours" for how soon an event must reach the CMO, not "disclosed to
            # the family within 24 hours", which covers the subject as well. None: the one stating a figure of
            # the asked kind that is nearly the closest of all in meaning (:func:`states_asked_figure`).
            stating = [c for (fit, _), c in zip(fits, chosen, strict=True) if fit >= SUBJECT_COVERAGE]
            if not stating:
                top = max(c.similarity for c in chosen)
                stating = [
                    c
                    for c in chosen
                    if states_asked_figure(
                        request.standalone, c.sentence, index, top, subject=request.subject
                    )
                ]
            if asks_money(request.asking):
                # Money is asked: an amount answers, not the duty's hours ("Weekend call: the duty period from
                # Friday 17:00 ..." for "what does the weekend call pay?").
                stating = [c for c in stating if MONEY.search(c.text)] or stating
            if stating:
                return max(stating, key=lambda c: c.similarity)
            best, position = max(fits)
            if best > 0:
                return chosen[-position]
        # Of the three most relevant sentences that stand on their own, the one holding most of the question's
        # specific terms (max keeps the first of equals): similarity alone favours a sentence about the topic
        # over the one stating what was asked (chosen on dev; key fact first rose on test and paraphrase too).
        # Terms weigh by how rare their word is in general English, not in the corpus: by IDF, "together" in
        # "what day do they get together?" outweighed "clinical policy committee", and "still" in "I'm 62. Do I
        # still have to take call?" opened with a policy review "still accurate".
        likening = bool(_ASKS_LIKENESS.search(request.standalone))

        def opens(c: Candidate) -> bool:
            return (
                _stands(c, likening)
                and not _about_another_party(c, request)
                and not _defines_unasked(c, request)
            )

        standing = [c for c in chosen[:3] if opens(c)]
        if not standing:  # none of the three stands on its own: the most relevant one that does
            standing = [c for c in chosen if opens(c)][:1]
        if not standing:  # none stands: the most relevant one whose run of context opens with one that does
            standing = [c for c in chosen if _reads_in_context(c) and not _about_another_party(c, request)][
                :1
            ]
        focus = request.query.focus
        lead = chosen[0]
        # "Who approves my leave?": the most relevant sentence naming a party that approves ("The CMO approves
        # or denies the request"), not one holding the word otherwise ("... by the end of an approved leave").
        # "Who runs the clinical policy committee?": "Chief Medical Officer: co-chairs the Clinical Policy
        # Committee, ..." (a policy's entry for the role answers who, though it opens no other answer).
        deed = asked_deed(request.standalone)
        chaired = asked_chair(request.question)
        role = asked_identity(request.question)

        def does(c: Candidate) -> bool:
            # "who is my executive sponsor?": "The CEO is the executive sponsor for a new CMO."
            return bool(
                (chaired and states_chair(c.text, chaired, self._spelled_out))
                or (role and states_identity(c.text, role, self._spelled_out))
                or (deed and names_doer(c.text, deed))
            )

        doers = [
            c
            for c in chosen
            if does(c) and not _LEANS_BACK.match(c.text) and not c.text.rstrip().endswith(":")
        ]
        if role:  # "The CEO is the executive sponsor ..." before "Executive sponsor: the leader to whom ..."
            doers = [c for c in doers if not _LABELLED.match(c.text)] or doers
        if doers:
            # the one holding most of what the question names: "recommends privileges to the CEO, who approves
            # them" for who approves privileges, not "Board of Directors: approves the credentialing policy ..."
            lead = max(
                doers, key=lambda c: round(focus.coverage(c.terms, general=True), 3) if focus.weights else 0
            )
        elif standing and focus.weights:
            lead = max(standing, key=lambda c: round(focus.coverage(c.terms, general=True), 3))
        elif standing:
            lead = standing[0]
        if lead.unit.is_list_item and not _reads_alone(lead, request):
            # a list item chosen first: its lead-in, when chosen too, opens instead
            opener = lead.chunk.lead_in(lead.index)
            return next((c for c in chosen if c.chunk is lead.chunk and c.index == opener), lead)
        return lead

    def _compared(self, role: str, request: AnswerRequest) -> bool:
        """Whether a sentence of the retrieved passages, or of those BM25 finds for the role and the CMO, sets
        the CMO against ``role`` (the retrieved passages may have missed the one comparison the sources make)."""
        index = _index_of(request)
        found = index.lexical.search(f"{role} chief medical officer", ROLE_SEARCH, request.query.filters)
        chunks = {p.chunk.chunk_id: p.chunk for p in request.passages} | {c.chunk_id: c for c, _ in found}
        sentences = (c.unit_text(unit) for c in chunks.values() for unit in c.units)
        return compares(role, sentences, self._spelled_out)

    def _series(self, series: Series, request: AnswerRequest) -> Composition | None:
        """A series answered as a list of its parts, after the sentence that opens the section setting it out
        ("Staff move up the chain of command one level at a time until the concern is resolved."): each part
        under its heading with the sentence that opens its section, or, for a figure question, the one stating the
        asked figure ("Level 2: Unit and Section Leadership — The Level 2 leader must respond within 30 minutes."
        for how fast each level must answer). Asked about some parts only ("my first 30 days"), each of them is
        quoted whole (up to PART_UNITS sentences), its heading before the first. A section without a sentence of
        its own opens with the sentence of the document closest to the question. None when there is none to open
        with, or a part none to quote."""
        index = _index_of(request)
        opening = next(
            (
                c
                for c in self._section_units(index.section(series.doc_id, series.parent), request)
                if _stands(c)
            ),
            None,
        )
        if opening is None:
            # A section made of its parts only ("Procedure" holding "Days 1 to 30: Learn", "Days 31 to 60:
            # Assess" ...): the sentence of the document closest to the question opens, one of its retrieved
            # passages' if they have one ("A structured first 90 days helps a new physician leader build
            # relationships, ...").
            retrieved = [p.chunk for p in request.passages if p.chunk.doc_id == series.doc_id]
            for chunks in (retrieved, index.document(series.doc_id)):
                standing = [
                    c for c in self._section_units(chunks, request) if _stands(c) and not c.unit.is_list_item
                ]
                if standing:
                    opening = max(standing, key=lambda c: c.similarity)
                    break
        if opening is None:
            return None
        figure = asks_figure(request.asking)
        items: list[tuple[str, Candidate]] = []
        for part in series.parts:
            units = self._section_units(index.section(series.doc_id, part.section), request)
            units = [c for c in units if not _LEANS_BACK.match(c.text)] or units
            if not units:
                return None
            if not series.whole:
                # some parts asked about ("my first 30 days"): each quoted whole, under its heading
                items.extend((part.label if i == 0 else "", c) for i, c in enumerate(units[:PART_UNITS]))
                continue
            # The part's opening sentence says what the part is. For a figure question, the sentence stating the
            # asked figure about the asked subject ("The Level 2 leader must respond within 30 minutes." for how
            # fast each level must answer), the closest in meaning of equals.
            fits = (
                [
                    (figure_fit(request.standalone, c.sentence, index, request.subject), c.similarity, c)
                    for c in units
                ]
                if figure
                else []
            )
            stating = [fit for fit in fits if fit[0] > 0]
            items.append((part.label, max(stating, key=lambda fit: fit[:2])[2] if stating else units[0]))
        numbers: dict[str, int] = {}
        for c in [opening, *(c for _, c in items)]:
            numbers.setdefault(c.chunk.chunk_id, len(numbers) + 1)
        lines = [f"{opening.text} [{numbers[opening.chunk.chunk_id]}]", ""]
        lines.extend(
            f"- {label + ' — ' if label else ''}{c.text} [{numbers[c.chunk.chunk_id]}]" for label, c in items
        )
        return Composition(
            text="\n".join(lines),
            answered=True,
            citations=self._citations([opening, *(c for _, c in items)], numbers),
        )

    def _section_units(self, chunks: Sequence[Chunk], request: AnswerRequest) -> list[Candidate]:
        """The quotable units of a section's passages, in document order, scored against the question."""
        index = _index_of(request)
        vectors = index.unit_vectors([c for c in chunks if c.chunk_id not in request.unit_vectors])
        out: list[Candidate] = []
        for chunk in chunks:
            held = request.unit_vectors.get(chunk.chunk_id)
            if held is None:
                held = vectors.get(chunk.chunk_id)
            if held is None or len(held) != len(chunk.units):
                continue
            for i, facts in enumerate(self._unit_facts(chunk)):
                if (
                    facts.quotable
                    and not facts.self_description
                    and not chunk.unit_text(chunk.units[i]).rstrip().endswith(":")
                ):
                    vector = held[i]
                    out.append(
                        Candidate(
                            0,
                            chunk,
                            chunk.units[i],
                            i,
                            vector,
                            float(vector @ request.query_vector),
                            facts.terms,
                        )
                    )
        return out

    def _compose(self, sequence: list[Candidate]) -> Composition:
        numbers: dict[str, int] = {}
        for c in sequence:
            numbers.setdefault(c.chunk.chunk_id, len(numbers) + 1)
        return Composition(
            text=_written(sequence, numbers), answered=True, citations=self._citations(sequence, numbers)
        )

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


@lru_cache(maxsize=256)
def _title_terms(title: str) -> frozenset[str]:
    return frozenset(analyze(title))


def _index_of(request: AnswerRequest) -> CorpusIndex:
    if request.index is None:
        raise ValueError("The extractive answerer needs the corpus index in its AnswerRequest.")
    return request.index


def _quotable(text: str, unit: Unit) -> bool:
    """Questions, fragments, bare titles and talk about the article itself are not answer material."""
    stripped = text.strip()
    if stripped.endswith("?") or _META.search(stripped):
        return False
    words = stripped.split()
    if len(words) <= 12:
        if stripped[-1:] not in '.!:;)"”’' and not unit.is_list_item:
            return False  # a title or heading line ("LD-501 New Physician Leader Onboarding")
        # a title in a list of them, its closing parenthesis no end of a sentence ("- CE-801 Escalation of
        # Clinical Concerns (Chain of Command)" under "Related Policies")
        if stripped[-1:] not in '.!:;"”’' and _title_cased(words):
            return False
    return len(words) >= (3 if unit.is_list_item else 5)


def _title_cased(words: Sequence[str]) -> bool:
    """Every word longer than three letters starts with a capital or a digit, brackets aside: a title."""
    bare = [w.strip('()[]"“”‘’,') for w in words]
    return all(w[:1].isupper() or w[:1].isdigit() for w in bare if len(w) > 3)


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


def _about_side(terms: frozenset[str], text: str, term: str, others: Sequence[str]) -> bool:
    """Whether a quote speaks of one compared side alone: it has the side's term and none of the others'; a
    sentence that itself compares ("differences between ...") speaks for neither side alone."""
    return term in terms and not any(o in terms for o in others) and not _COMPARISON.search(text)


#: Sentences quoted of each part when a question asks about some parts of a series only.
PART_UNITS = 6
#: A follow-up asking for more than was shown ("what else do they do?", "any others?", "tell me more"): nothing
#: shown is quoted again.
_ASKS_MORE = re.compile(
    r"\b(what|who|anything|anyone|something|where|how) else\b|\bany others?\b|\btell me more\b|"
    r"\b(any|some) more\b|\bwhat other\b|\bother (ones|things)\b",
    re.I,
)
#: What a sentence the conversation has shown already costs in relevance: a follow-up quotes it again only when
#: it answers clearly better than the others ("and holidays?" after a stipend list holding "Holiday call: $1,000
#: per holiday ..."). Left out altogether, the follow-ups of the eval asked after the assistant's own answers
#: lost key facts (dev 0.603 -> 0.346); chosen on dev over 0.05-0.5 (0.2: key facts 0.590, a quarter of the
#: sentences repeated instead of a tenth).
SHOWN_PRICE = 0.2
#: A sentence that goes on about the subject of the one before it: its subject is a pronoun, at the start or
#: after an opening phrase ("They often ...", "To add to that, they would be providing ...").
_CONTINUES = re.compile(r"^([^,.;:]{1,80}, )?(they|their|it|its|he|she|his|her)\b", re.I)


def _continuation(c: Candidate, most: int = 2) -> list[int]:
    """The sentences after ``c`` in its paragraph that go on about its subject (up to ``most``, in order)."""
    out: list[int] = []
    units = c.chunk.units
    i = c.index
    while len(out) < most and i + 1 < len(units):
        following = units[i + 1]
        between = c.chunk.text[units[i].end : following.start]
        text = c.chunk.unit_text(following)
        if "\n\n" in between or following.is_list_item or not _CONTINUES.match(text):
            break
        i += 1
        out.append(i)
    return out


#: Words that set one side of a comparison against the other ("compared with the hospital", "cmo vs ceo").
_AGAINST = re.compile(r"^(vs|versus|than|unlike|compared|contrasted)$", re.I)
_ROLE_WORD = re.compile(r"^(cmo|cmos|cmo's|cmos'|officers?|officer's)$", re.I)
#: Words that open a noun phrase: a run of words after one of these, before the comparing word, names a side.
_BEFORE_SIDE = frozenset(["at", "in", "the", "a", "an", "for", "of", "between"])


def _names_a_side(word: str) -> bool:
    """A word that can be part of a compared side's name: a word with letters, not a function word, not the
    role's own ("CMO", "officer", "job") and not one that compares ("vs", "compared", "differ")."""
    lower = word.lower()
    return (
        bool(re.search(r"[a-z]", lower))
        and lower not in stopwords()
        and lower not in _ROLE_WORDS
        and not _ROLE_WORD.match(lower)
        and not (_AGAINST.match(lower) or _COMPARISON.fullmatch(lower))
    )


def _named_sides(question: str) -> list[tuple[str, str]]:
    """The two sides a comparison names, in the order asked, each as (the stemmed last word of its phrase, the
    phrase as written); none when the wording does not show two. A side's phrase is a run of naming words right
    before the role ("hospital CMO", "FQHC CMOs"), after the role and a preposition ("a CMO at a community health
    center"), or on either side of the word that compares ("at the health center compared with the hospital",
    "between a CMO at a hospital and at an FQHC"); the role itself is a side when the comparing word stands next
    to it ("cmo vs ceo", "compared with a CMO") or when the question names one other side and the role ("the CMO
    role ..., versus being a clinician")."""
    tokens = re.findall(r"[\w'-]+|[^\w\s]", question.replace("’", "'"))
    stop = stopwords()

    def role(i: int) -> bool:
        return 0 <= i < len(tokens) and bool(_ROLE_WORD.match(tokens[i]))

    def run_before(i: int) -> tuple[int, int] | None:
        j = i
        while j > 0 and _names_a_side(tokens[j - 1]):
            j -= 1
        return (j, i) if j < i else None

    def run_after(i: int) -> tuple[int, int] | None:
        j = i
        while j < len(tokens) and tokens[j].lower() in stop:
            j += 1
        if role(j):
            return (j, j + 1)
        k = j
        while k < len(tokens) and _names_a_side(tokens[k]):
            k += 1
        return (j, k) if k > j else None

    # "between A and B" compares A and B: that "and" stands where "vs" would.
    between = next((i for i, t in enumerate(tokens) if t.lower() == "between"), None)
    pairing = (
        next((i for i in range(between + 1, len(tokens)) if tokens[i].lower() == "and"), None)
        if between is not None
        else None
    )
    found: list[tuple[int, int]] = []
    for i, token in enumerate(tokens):
        if role(i):
            found.extend(side for side in (run_before(i),) if side)
            if i + 1 < len(tokens) and tokens[i + 1].lower() in ("at", "in", "of", "for"):
                found.extend(side for side in (run_after(i + 1),) if side)
        elif _AGAINST.match(token) or i == pairing:
            before = run_before(i)
            if before is not None and (before[0] == 0 or tokens[before[0] - 1].lower() in _BEFORE_SIDE):
                found.append(before)
            elif role(i - 1) and run_before(i - 1) is None:
                found.append((i - 1, i))
            found.extend(side for side in (run_after(i + 1),) if side)
    sides: dict[str, tuple[int, int]] = {}
    for start, end in sorted(found):
        terms = _side_terms(tokens[end - 1])
        if terms:
            sides.setdefault("cmo" if role(end - 1) else terms[-1], (start, end))
    if len(sides) == 1 and "cmo" not in sides:
        first_role = next((i for i in range(len(tokens)) if role(i)), None)
        if first_role is not None:
            sides["cmo"] = (first_role, first_role + 1)
    if len(sides) != 2:
        return []
    return [(term, " ".join(tokens[a:b])) for term, (a, b) in sorted(sides.items(), key=lambda kv: kv[1])]


def _runs(sequence: Sequence[Candidate]) -> list[list[Candidate]]:
    """The sequence cut into runs of consecutive units of one passage (a sentence with the one it leans on, a
    lead-in with its items): each run is read as one piece."""
    runs: list[list[Candidate]] = []
    for c in sequence:
        if runs and runs[-1][-1].chunk is c.chunk and runs[-1][-1].index + 1 == c.index:
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


def _pieces(run: list[Candidate]) -> list[list[Candidate]]:
    """A run cut where a sentence stands on its own: it neither leans on the one before it (a pronoun subject,
    "Moreover", ...) nor is an item of a list whose lead-in the piece holds. Each piece may speak of another
    compared side (QM-201's statements "1. Every practitioner with privileges is evaluated through OPPE." and
    "2. FPPE is required for all new privileges ..." are one run, two pieces)."""
    pieces = [[run[0]]]
    for before, c in pairwise(run):
        introduced = c.unit.is_list_item and any(o.text.rstrip().endswith(":") for o in pieces[-1])
        leans = (
            introduced
            or before.text.rstrip().endswith(":")
            or _LEANS_BACK.match(c.text) is not None
            or _CONTINUES.match(c.text) is not None
        )
        if leans:
            pieces[-1].append(c)
        else:
            pieces.append([c])
    return pieces


def _side_terms(word: str) -> list[str]:
    """The terms of a word naming a side, an acronym's plural as its singular ("FQHCs": the FQHC side)."""
    return analyze(word[:-1] if re.fullmatch(r"[A-Z]{2,}s", word) else word)


def _side_label(term: str, question: str, acronyms: Collection[str] = ()) -> str:
    """The question's own phrase for a compared side: the word holding ``term`` with the naming words around
    it ("a CMO at a community health center" -> "Community health center", "hospital CMO" -> "Hospital"), never
    the role's own words or function words. An acronym is written in capitals ("cmo vs ceo" -> "CEO";
    ``acronyms`` lower-cased)."""
    words: list[str] = [re.sub(r"['’]s$", "", w) for w in re.findall(r"[\w'’-]+|[^\w\s]", question)]
    at = next((i for i, word in enumerate(words) if term in _side_terms(word)), None)
    if at is None:
        return term

    start, end = at, at + 1
    while end < len(words) and end - start < 3 and _names_a_side(words[end]):
        end += 1
    while start > 0 and end - start < 3 and _names_a_side(words[start - 1]):
        start -= 1
    label = [w.upper() if w.lower() in acronyms else w for w in words[start:end]]
    return " ".join([label[0][:1].upper() + label[0][1:], *label[1:]])


def _place(c: Candidate) -> str:
    return f"{c.chunk.doc_id}:{c.chunk.section}"


def _with_context(sequence: list[Candidate], request: AnswerRequest) -> list[list[Candidate]]:
    """Each sentence with what it needs to be read: a sentence that leans on the one before it ("It", "This",
    "Finally") gets the run of sentences before it back to one that does not (:func:`_antecedents`, at most
    CONTEXT_RUN), reaching into the passage before when the run meets its passage's start; a list item gets its
    lead-in (the sentence ending with ":" that opens the list). What a sentence leans on is brought forward when
    the answer quotes it further on. Sentences are told apart by where they are in their document: passages
    overlap. Each sentence comes in a group with its context before it."""
    later = {_position(c.chunk, c.index): c for c in sequence}
    have = {c.key for c in sequence}
    placed: set[tuple[str, int]] = set()
    out: list[list[Candidate]] = []
    for c in sequence:
        if _position(c.chunk, c.index) in placed:  # brought forward as the context of a sentence before it
            continue
        leans = bool(_LEANS_BACK.match(c.text))
        outside: list[Candidate] = []
        if leans:
            before = _antecedents(c, CONTEXT_RUN)
            start = before[0] if before else c.index
            if start == 0 and not _opens_cleanly(c.chunk, before):
                # what it leans on begins in the passage before ("It's a dynamic job, ..." opening a passage)
                outside = _context_before_passage(c, start, request, CONTEXT_RUN - len(before))
        elif c.unit.is_list_item and not out and _reads_alone(c, request):
            before = []  # "Weekend call: $2,400 ..." opens the answer; its lead-in comes before the next item
        else:
            opener = c.chunk.lead_in(c.index)
            before = [opener] if opener is not None else []
        # What it leans on comes right before it, also when the answer quotes that sentence further on (a
        # lead-in quoted further on stays there: "Tier 1 (emergent): ..." opens an answer to how fast).
        extras = [
            later.get(where) or _unit_candidate(c, i, request)
            for i in before
            if (where := _position(c.chunk, i)) not in placed and (leans or where not in later)
        ]
        if out and c.unit.is_list_item and not before and c.chunk.opens_inside_list(c.index):
            # The list began in the passage before (a long list is split over passages): its lead-in is there.
            # Not for the sentence that opens the answer: that one reads as a sentence, the most direct first.
            extras = [_lead_in_before(c, request, have)]
        outside = [x for x in outside if _position(x.chunk, x.index) not in placed]
        group = [x for x in [*outside, *extras] if x is not None] + [c]
        for x in group:
            have.add(x.key)
            placed.add(_position(x.chunk, x.index))
        out.append(group)
    return out


def _position(chunk: Chunk, index: int) -> tuple[str, int]:
    """Where unit ``index`` of ``chunk`` begins in its document."""
    return chunk.doc_id, chunk.start + chunk.units[index].start


def _reads_alone(c: Candidate, request: AnswerRequest) -> bool:
    """A list item that answers on its own: it names, before a colon, what the question asks about, then what
    the list says of it ("how much is weekend call paid?": "Weekend call: $2,400 for the full weekend."). An item
    the question does not name ("Communication: ..." for "what leadership skills ...") is one of a list, read
    after its lead-in; so is one naming only the role every question is about ("Chief Medical Officer: oversees
    the program ..." in a policy's list of roles)."""
    label = _entry_label(c)
    if label is None:
        return False
    named = analyze(label)
    asked = set(analyze(request.standalone))
    return any(t not in generic_terms() for t in named) and all(t in asked for t in named)


def _stands(c: Candidate, likening: bool = False) -> bool:
    """Whether a sentence can open an answer: it neither leans on the one before it, introduces a list nor is
    a policy's entry for the role, and it states its subject rather than likening or summing it up (unless
    ``likening``: the question asks what the subject is likened to)."""
    if _LEANS_BACK.match(c.text) or c.text.rstrip().endswith(":") or _names_only_the_role(c):
        return False
    return likening or not _INDIRECT.match(c.text)


def _about_another_party(c: Candidate, request: AnswerRequest) -> bool:
    """A roles-list entry about a party the question does not name ("Vice President, Quality and Patient Safety:
    owns the event reporting system ..." for "what does the CMO do during a patient safety event?"), when the
    question does not ask who does something: it says what that party does, not what was asked."""
    label = _entry_label(c)
    if label is None or not _PARTY.search(label) or _ASKS_WHO.search(request.standalone):
        return False
    asked = set(analyze(request.standalone))
    return not all(t in asked or t in generic_terms() for t in analyze(label))


def _defines_unasked(c: Candidate, request: AnswerRequest) -> bool:
    """A definitions section's entry when the question does not ask what its term is: the question asks what
    something is (or who) and names the term ("what's an SSE?" for "Serious safety event (SSE): ..."), or asks
    who and the term is a party (a team, a committee, an officer ...). "Can I get out of weeknight call?" is not
    answered by "Weeknight call: the duty period from 17:00 ...", nor "who do I call if the on-call doc doesn't
    come in?" by "Call-in: an occasion on which ..."."""
    section = c.chunk.section[-1] if c.chunk.section else ""
    label = _LABELLED.match(c.text)
    if not _DEFINITIONS.search(section) or label is None:
        return False
    if _ASKS_WHO.search(request.standalone) and _PARTY.search(label.group(1)):
        return False  # who decides: "Safety Event Classification (SEC) team: the group that decides ..."
    asks = _ASKS_MEANING.search(request.standalone) or _ASKS_WHO.search(request.standalone)
    return not (asks and _names_term(request.standalone, label.group(1)))


def _names_term(question: str, label: str) -> bool:
    """The question names a defined term: its words in a row (a plural too), or the acronym in its brackets
    ("Serious safety event (SSE)")."""
    acronym = re.search(r"\(([^)]+)\)", label)
    names = [re.sub(r"\s*\([^)]*\)", "", label)] + ([acronym.group(1)] if acronym else [])
    for name in names:
        words = re.findall(r"[\w'’/-]+", name)
        if words and re.search(
            r"\b" + r"\W+".join(re.escape(w) + r"(?:s|es)?" for w in words) + r"(?![\w-])", question, re.I
        ):
            return True
    return False


def _names_only_the_role(c: Candidate) -> bool:
    """A list entry whose label is only the role every question is about ("Chief Medical Officer: oversees the
    program ..." in a policy's list of roles): what it says holds inside that policy ("the program"), so it
    does not open an answer about the role in general."""
    label = _entry_label(c)
    return label is not None and all(t in generic_terms() for t in analyze(label))


def _entry_label(c: Candidate) -> str | None:
    """The label of a list entry that names its subject before a colon ("Weekend call" of "Weekend call:
    $2,400 ..."); None for a sentence or an unlabelled item."""
    label = _LABELLED.match(c.text) if c.unit.is_list_item else None
    return label.group(1) if label else None


def _trimmed(groups: list[list[Candidate]]) -> list[Candidate]:
    """At most MAX_QUOTED sentences: each sentence with its context (:func:`_with_context`) in reading order,
    the lead's always, then each that still fits whole, so no context is shown without the sentence it was
    brought for; a lead-in left with fewer than two of its items goes too."""
    out: list[Candidate] = []
    for group in groups:
        if not out or len(out) + len(group) <= MAX_QUOTED:
            out.extend(group)
    out = out[:MAX_QUOTED]
    if len(out) == sum(len(group) for group in groups):
        return out
    # A lead-in cut off from all but one of its items would read as a sentence ending with ":".
    lead_ins = [i for i, c in enumerate(out) if c.text.rstrip().endswith(":")]
    if lead_ins and len(out) - 1 - lead_ins[-1] < 2 and lead_ins[-1] > 0:
        out = out[: lead_ins[-1]]
    return out


def _antecedents(c: Candidate, most: int = 3) -> list[int]:
    """The sentences before ``c`` it needs, in order, as unit indices of ``c``'s passage (:func:`_run_to`)."""
    return _run_to(c.chunk, c.index - 1, most)


def _run_to(chunk: Chunk, last: int, most: int = 3) -> list[int]:
    """The run of sentences of ``chunk`` ending with unit ``last`` that a sentence after it needs, in order: that
    one, and the ones before it while the earlier one leans back too ("Firstly, ..." after "It's all about
    ..."). A question the source asks itself (not leaning back itself) ends the run: what follows it answers it
    ("So, what does a typical day look like for a Chief Medical Officer? Well, it's definitely not a 9-to-5 desk
    job! Their days are ...")."""
    out: list[int] = []
    i = last
    while i >= 0 and len(out) < most:
        text = chunk.unit_text(chunk.units[i]).rstrip()
        leans = bool(_LEANS_BACK.match(text))
        if text.endswith("?"):
            # a question leaning back itself ("But what does that mean in practice?") bridges, it is no context
            return out if leans else [i, *out]
        out.insert(0, i)
        if not leans:
            break
        i -= 1
    return out


def _opens_cleanly(chunk: Chunk, run: Sequence[int]) -> bool:
    """Whether a run of context (:func:`_run_to`) begins with a sentence that does not lean back, or with the
    question the source asks itself."""
    if not run:
        return False
    text = chunk.unit_text(chunk.units[run[0]]).rstrip()
    return text.endswith("?") or not _LEANS_BACK.match(text)


def _context_before_passage(c: Candidate, first: int, request: AnswerRequest, most: int) -> list[Candidate]:
    """The run of context that ends right before unit ``first`` of ``c``'s passage, from the passages before it
    under the same heading (passages overlap, so the one before may hold the sentence before): what a leaning
    sentence opening its passage ("They're basically the medical eyes and ears, ...") needs, back to a sentence
    that does not lean (:func:`_opens_cleanly`), at most ``most`` sentences. Empty when there is none within
    that."""
    index = _index_of(request)
    run: list[tuple[Chunk, int]] = []
    chunk, where = c.chunk, _position(c.chunk, first)[1]
    while len(run) < most:
        previous = index.preceding(chunk)
        if previous is None:
            return []
        earlier = [j for j, unit in enumerate(previous.units) if previous.start + unit.start < where]
        if not earlier:
            return []
        part = _run_to(previous, earlier[-1], most - len(run))
        run = [(previous, j) for j in part] + run
        if _opens_cleanly(previous, part):
            found = [_unit_candidate(c, j, request, at) for at, j in run]
            quoted = [x for x in found if x is not None]
            return quoted if len(quoted) == len(found) else []
        if not part or part[0] != 0:  # a question leaning back, or the budget, ended the run
            return []
        chunk, where = previous, previous.start + previous.units[0].start
    return []


def _reads_in_context(c: Candidate) -> bool:
    """Whether ``c`` with the sentences it leans on (:func:`_antecedents`) opens with one that does not lean
    back: a sentence that stands, or the question the source asks itself."""
    before = _antecedents(c)
    return _opens_cleanly(c.chunk, before) if before else not _LEANS_BACK.match(c.text)


def _lead_in_before(c: Candidate, request: AnswerRequest, have: set[tuple[str, int]]) -> Candidate | None:
    """The lead-in of the list ``c`` continues, from the passage before ``c``'s (None: there is none, or the
    answer has it already)."""
    previous = _index_of(request).preceding(c.chunk)
    if previous is None or not previous.units:
        return None
    units = previous.units
    last_prose = next((i for i in range(len(units) - 1, -1, -1) if not units[i].is_list_item), None)
    if last_prose is None or not previous.unit_text(units[last_prose]).rstrip().endswith(":"):
        return None
    if (previous.chunk_id, last_prose) in have:
        return None
    return _unit_candidate(c, last_prose, request, previous)


def _unit_candidate(
    c: Candidate, index: int, request: AnswerRequest, chunk: Chunk | None = None
) -> Candidate | None:
    """Unit ``index`` of ``c``'s passage (or of ``chunk``) as a candidate quoted for ``c``'s sake."""
    chunk = chunk or c.chunk
    vectors = request.unit_vectors.get(chunk.chunk_id)
    if vectors is None:
        vectors = _index_of(request).unit_vectors([chunk]).get(chunk.chunk_id)
    unit = chunk.units[index]
    text = chunk.unit_text(unit)
    # A question is quoted only as what the sentences after it answer (:func:`_antecedents`).
    if vectors is None or len(text.split()) < 3 or text.rstrip()[-1:] not in '.!?:;)"”’':
        return None
    similarity = float(vectors[index] @ request.query_vector)
    return Candidate(c.passage_rank, chunk, unit, index, vectors[index], similarity, c.terms)


def _written(sequence: Sequence[Candidate], numbers: dict[str, int]) -> str:
    """The sentences as the answer reads them, each with its passage's marker: prose, and list items as bullets
    after their lead-in."""
    lines: list[str] = []
    prose: list[str] = []
    previous: Candidate | None = None
    for c in sequence:
        piece = f"{c.text} [{numbers[c.chunk.chunk_id]}]"
        # A bullet follows its lead-in or another bullet of its list; a list item without its lead-in (a list
        # under a heading, or one item of a list) reads as a sentence, and an answer never opens with one.
        after_lead_in = introduced = False
        if previous is not None and _same_list_place(previous, c):
            # an item ending with ":" introduces the list nested under it; a bullet continues only its own list
            # (not the list it is nested in, nor one nested in it)
            depth, before = c.chunk.indent(c.index), previous.chunk.indent(previous.index)
            after_lead_in = previous.text.rstrip().endswith(":") and (
                not previous.unit.is_list_item or depth > before
            )
            sibling = previous.unit.is_list_item and depth == before
            introduced = after_lead_in or (sibling and bool(lines and lines[-1].startswith("- ")))
        previous = c
        # One item right after its lead-in is a list of one ("... include:" then "- Developing ..."): as
        # prose, an item of two sentences would read as two, the first without its citation.
        listed = _in_list_run(c, sequence) or after_lead_in
        if c.unit.is_list_item and listed and introduced and (lines or prose):
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
    return "\n".join(_separate_lists(lines)).strip()


def _same_list_place(previous: Candidate, c: Candidate) -> bool:
    """``previous`` can introduce or continue ``c``'s list: the same passage, or the passage before it under the
    same heading (a list split over passages)."""
    if previous.chunk is c.chunk:
        return True
    return (
        previous.chunk.doc_id == c.chunk.doc_id
        and previous.chunk.section == c.chunk.section
        and previous.chunk.start < c.chunk.start
    )


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
