"""Whether the chosen sentences answer the question: a calibrated decision over meaning, not a word count.

A question that names something the sources never mention is refused by rule (``missing_name``: a
capitalised phrase such as "Mayo Clinic" or "Certified Physician Executive", or an acronym such as "EMTALA"), and
so is one that asks for money (a salary, a fee) when no chosen sentence states an amount, or for any figure (how
many, how long, what percentage) when no chosen sentence states one about the question's subject: other numbers
from the same policies are easy to misread as the one asked for. The model below was fitted with those figure
questions among its cases (``figure_missing`` is one of its features); the rule then refuses them whatever it
says. The other way round, a money question is answered by rule when a chosen sentence states an amount about
at least half of its subject ("Weekend call: $2,400 for the full weekend."; ``money_stated``).
Otherwise four signals (:class:`Evidence`) are combined by a small logistic model fitted on the dev split
(``evals/calibrate_answerability.py`` writes ``assistant/data/answerability.json``: weights, the operating
threshold chosen on dev, and the dev precision/recall curve the eval report shows):

- ``best``: cosine similarity of the best sentence to the question (the best one alone: how many others match
  depends on how much the corpus says about the subject, and one short policy may say it once; the mean of the
  three best, fitted on dev, refused "Where does the CMO park?" over a corpus whose one parking sentence
  answers it);
- ``coverage``: the share of the (resolved) question's content words the chosen sentences contain, each word
  weighed by how specific it is in general English (``wordfreq``), so "honestly", "best" or "really" weigh
  little and "credentialing" a lot; the corpus's own rarity (IDF) would count every everyday word the sources
  happen to lack as the most specific of all;
- ``unknown``: the weight of the question's rare words that the corpus never uses (a topic the sources lack),
  each counted above UNKNOWN_FLOOR only, as a share of the question's weight;
- ``figure_missing``: the question asks for a figure (how much, how many, how long, what percentage...) and no
  chosen sentence states one about the question's subject (for money, a money figure).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from assistant.answer.figure_kinds import ASKS_TIME, ONE, states_kind, without_measures
from assistant.answer.query import generic_terms
from assistant.answer.word_frequency import specificity, zipf_frequency
from assistant.errors import ConfigError
from assistant.search.corpus_index import CorpusIndex
from assistant.search.lexical import analyze, stopwords
from assistant.types import TERM_PREFIX

#: Share of the question's subject (specificity-weighted) a sentence stating a figure must cover to open the
#: answer to a figure question.
SUBJECT_COVERAGE = 1 / 3
#: ... and the share it must cover for the answer to state the asked figure at all (else the question is refused,
#: unless a sentence nearly the closest in meaning states a figure of the asked kind): half, as for money. "Review
#: cycle: at least every 2 years." does not say how long escalation logs are kept. Chosen on dev: 0.5 to 0.7 refuse
#: the same two more must-refuse questions than 1/3, and no answerable one.
STATED_SUBJECT_COVERAGE = 0.5
#: Share of a money question's subject a sentence stating an amount must cover to answer it whatever the model
#: says: "Weekend call: $2,400 for the full weekend." for "how much do we get paid for taking weekend call" (on
#: dev, every money question answered this way was answerable, and every must-refuse one stayed below 0.3).
MONEY_SUBJECT_COVERAGE = 0.5
#: Of a word the corpus never uses, only the part of its specificity above this counts as unknown: "sits",
#: "empty" or "feuding" are missing from the sources as much as "HIPAA" is, but a question using them is not
#: about a topic they lack (chosen on dev by cross-validated balanced accuracy: 2.5 over 0, 1.5 and 3.5).
UNKNOWN_FLOOR = 2.5
#: A sentence this close in meaning to the question's best-matching one (cosine) states the asked figure when it
#: holds a figure of the asked kind, whatever words it shares with the question: "a complete initial application
#: is processed ... within 90 days" for "how long does it take to get privileges approved?" (chosen on dev).
NEAR_BEST = 0.02
#: ... provided it covers at least this share of the question's subject: being near in meaning alone let "The CMO
#: decides on reinstatement after a leave of up to 12 months ..." answer how long CMOs usually stay in the job, and
#: "within 7 days" (a nurse manager's review) how long a nurse waits for a practitioner to call back. Chosen on dev
#: (0, 0.1, 0.2, 1/3, and no such path): at 0.2, of the dev figure questions it stops answering, five must be
#: refused and three of the four answerable ones had been answered with another figure.
NEAR_BEST_COVERAGE = 0.2
FEATURES = ("best", "coverage", "unknown", "figure_missing")
#: The way each feature may move the probability of answering: more similarity or coverage never makes a question
#: less answerable, more unknown weight or a missing figure never more. The fit holds a weight that comes out the
#: other way at 0 (coverage did, on the larger dev split: a question whose words the sentences hold scored as less
#: answerable), since it would learn the cases, not the evidence.
DIRECTIONS = {"best": 1.0, "coverage": 1.0, "unknown": -1.0, "figure_missing": -1.0}
MODEL_FILE = "answerability.json"

#: Questions that ask for a figure: an answer without one about the question's subject does not address them.
FIGURE_QUESTION = re.compile(
    rf"\b({ASKS_TIME}|how (many|often|old)|"
    r"what (percentage|percent|proportion|number|amount|share|fraction|rate|fee|score|discount|age|salary|limit|"
    r"deadline|timeline)|salary|salaries|compensation|wages?|statistics?|average|stipends?|per (year|month|hour))\b|"
    r"\b(what|which)\s*%",  # "what % of CMOs ...?"
    re.I,
)
#: A figure: a number that is not part of an identifier ("MS-101" is not one), or a number word.
FIGURE = re.compile(
    rf"(?<![A-Za-z]-)(?<![A-Za-z])\b\d|\b({ONE}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred|thousand|million|percent|half|quarter|"
    r"annual\w*|monthly|weekly|daily|quarterly|immediately)\b",
    re.I,
)
#: Questions about money ("how much does a CMO make?", "what do reviewers get paid?") need a money figure.
MONEY_QUESTION = re.compile(
    r"\b(salar(y|ies)|earn(s|ings)?|compensation|wages?|stipends?|make (per|a|an|each) (year|month|hour)|"
    r"how much\b(?:\W+\w+){0,6}?\W+(cost|costs|pay|paid|charge|charged|fees?|dues|make|earn|get)\b|"
    r"what (do|does|did|will|would)\b(?:\W+\w+){0,4}?\W+(pay(?! attention)|charge|cost|earn)\b|"
    r"\b(get|gets|getting|be|being) (paid|payed)\b|"
    # "how much is weeknight call?": a price
    r"\bhow much (is|are|was|were|will)\b)",
    re.I,
)
#: "Pay" as a noun asks for an amount ("what's the on-call pay on holidays?", "is there extra pay for backup
#: call?") unless the question asks who, when or where ("who sets the call pay rates?").
PAY_NOUN = re.compile(
    r"\b(the|my|our|their|extra|more|any|call|on-call|holiday|weekend|backup|overtime) pay\b(?! attention)",
    re.I,
)
_ASKS_WHO_WHEN = re.compile(r"\W*(who|whom|whose|when|where)\b", re.I)
MONEY = re.compile(
    r"[$€£]\s?\d|\b\d[\d,.]*\s?(dollars|usd|k)\b|\bno (stipend|pay|payment|compensation)\b", re.I
)
_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]|[a-z]")
#: The words that ask for a figure rather than name its subject ("how long", "make per year").
ASKING_WORDS = frozenset(
    [
        "how",
        "many",
        "much",
        "long",
        "soon",
        "often",
        "quickly",
        "fast",
        "late",
        "early",
        "old",
        "far",
        "ahead",
        "advance",
        "time",
        "notice",
        "what",
        "percentage",
        "percent",
        "proportion",
        "number",
        "amount",
        "share",
        "fraction",
        "rate",
        "fee",
        "fees",
        "score",
        "discount",
        "age",
        "salary",
        "salaries",
        "limit",
        "deadline",
        "timeline",
        "make",
        "makes",
        "earn",
        "earns",
        "earning",
        "earnings",
        "paid",
        "pay",
        "pays",
        "cost",
        "costs",
        "price",
        "charge",
        "charged",
        "compensation",
        "wage",
        "wages",
        "income",
        "stipend",
        "stipends",
        "per",
        "year",
        "years",
        "month",
        "months",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "annually",
        "average",
        "statistics",
        "get",
        "gets",
    ]
)
#: A capitalised phrase inside a question: one or more capitalised words (an acronym or a name).
#: Words that join the words of a name ("Centers for Medicare and Medicaid Services"), and "I".
_JOINING = frozenset(["of", "the", "for", "and", "de", "i", ""])
#: Days and months: capitalised, but never a name the sources could lack.
_CALENDAR = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mondays",
        "tuesdays",
        "wednesdays",
        "thursdays",
        "fridays",
        "saturdays",
        "sundays",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
#: What a word's apostrophe adds ("Mayo's", "I'd"), not part of the name.
_CONTRACTION = re.compile(r"['’](s|m|ve|ll|d|re)$")
_NAME = re.compile(r"\b([A-Z][\w'’&.-]*(?:\s+(?:of|the|for|and|de|&)?\s*[A-Z][\w'’&.-]*)*)")


@dataclass(frozen=True)
class Sentence:
    """What the evidence needs of a chosen sentence: its text and its (stemmed) terms."""

    text: str
    terms: frozenset[str]
    #: cosine similarity to the question
    similarity: float = 0.0


@dataclass(frozen=True)
class Evidence:
    best: float
    coverage: float
    unknown: float
    figure_missing: float
    #: a name the question uses that the sources never mention: refused by rule, before the model is asked
    missing_name: str = ""
    #: the question asks for money (a salary, a fee, a cost) and no chosen sentence states an amount: refused by
    #: rule as well
    money_missing: bool = False
    #: the question asks for money and a chosen sentence states an amount about at least half of its subject:
    #: answered by rule, whatever the model says
    money_stated: bool = False
    #: what the question asks of a group or role the sources name, and that group or role, when no chosen
    #: sentence says it: when it meets ("when does the MEC meet?"), who chairs it, who holds it (refused by rule:
    #: :func:`assistant.answer.doers.unfilled_slot`)
    unfilled: tuple[str, str] | None = None

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float64)


@dataclass(frozen=True)
class AnswerabilityModel:
    """A logistic model over :data:`FEATURES` (standardised), with the threshold chosen on dev."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    features: tuple[str, ...] = FEATURES
    #: how it was fitted (cases, split) and the dev precision/recall curve, for the eval report
    fitted: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes = {len(self.weights), len(self.mean), len(self.scale), len(self.features)}
        if len(sizes) != 1 or not all(math.isfinite(v) and v > 0 for v in self.scale):
            raise ConfigError(
                f"The answerability model ({MODEL_FILE}) needs one weight, mean and positive scale per feature. "
                "Fit it again with `python evals/calibrate_answerability.py`."
            )

    def probability(self, evidence: Evidence) -> float:
        z = (evidence.vector() - np.array(self.mean)) / np.array(self.scale)
        return 1.0 / (1.0 + math.exp(-(float(z @ np.array(self.weights)) + self.bias)))

    def answerable(self, evidence: Evidence) -> bool:
        if evidence.missing_name or evidence.money_missing or evidence.figure_missing or evidence.unfilled:
            return False
        if evidence.money_stated:
            return True
        return self.probability(evidence) >= self.threshold

    @classmethod
    def load(cls) -> AnswerabilityModel:
        raw: dict[str, Any] = json.loads(
            resources.files("assistant").joinpath("data", MODEL_FILE).read_text("utf-8")
        )
        return cls(
            weights=tuple(raw["weights"]),
            bias=float(raw["bias"]),
            mean=tuple(raw["mean"]),
            scale=tuple(raw["scale"]),
            threshold=float(raw["threshold"]),
            features=tuple(raw.get("features", FEATURES)),
            fitted=dict(raw.get("fitted", {})),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def gather(
    question: str,
    resolved: str,
    similarities: Sequence[float],
    chosen: Sequence[Sentence],
    index: CorpusIndex,
    subject_covered: bool,
    spelled_out: Mapping[str, Sequence[str]] | None = None,
    asking: str | None = None,
    subject: str | None = None,
) -> Evidence:
    """The evidence for one question and the sentences chosen to answer it.

    :param question: as asked (names are looked for here); ``resolved``: against the conversation (its words
        are what the sentences must cover).
    :param similarities: each candidate sentence's cosine similarity to the question.
    :param subject_covered: a chosen sentence that states a figure also covers the question's subject
        (:func:`states_figure`).
    :param asking: the words whose form says what is asked (money, a figure), when not the question's own (a
        follow-up that only names another subject: :mod:`assistant.answer.conversation`); ``subject``: then
        the words naming what it asks about (the follow-up's own).
    """
    asking = asking or question
    top = sorted(similarities, reverse=True)[:1]
    coverage, unknown = _coverage(resolved, chosen, index)
    money = asks_money(asking)
    states_figure = subject_covered and (not money or any(MONEY.search(s.text) for s in chosen))
    money_fit = _money_fit(resolved, chosen, index, subject) if money else 0.0
    name = missing_name(question, index, spelled_out)
    return Evidence(
        best=top[0] if top else 0.0,
        coverage=coverage,
        unknown=unknown,
        figure_missing=1.0 if asks_figure(asking) and not states_figure else 0.0,
        missing_name=name,
        money_missing=money and money_fit < SUBJECT_COVERAGE,
        money_stated=money and money_fit >= MONEY_SUBJECT_COVERAGE,
    )


def figure_fit(resolved: str, sentence: Sentence, index: CorpusIndex, subject: str | None = None) -> float:
    """How well a sentence states the asked figure: 0 without a figure of the asked kind (a duration for "how
    long", a count for "how many": :mod:`assistant.answer.figure_kinds`), else the share of the question's
    subject (its content words other than those asking for the figure, weighed by specificity) it covers.

    :param subject: the words naming what the figure is about, when not ``resolved``'s own: a follow-up that
        only names another subject ("what about weeknights?" after "what's the stipend for weekend call?") asks
        for the earlier question's kind of figure about its own subject."""
    if not _holds_asked_figure(resolved, sentence.text):
        return 0.0
    return subject_coverage(resolved if subject is None else subject, sentence, index)


def subject_coverage(question: str, sentence: Sentence, index: CorpusIndex) -> float:
    """The share of the question's subject (its content words other than those asking for a figure, weighed by
    specificity, the domain's generic words included) that the sentence covers."""
    words = re.findall(r"[\w'’-]+", question)
    named = " ".join(w for w in words if w.lower() not in ASKING_WORDS)
    return _coverage(named, [sentence], index, keep_generic=True)[0]


def _money_fit(
    resolved: str, chosen: Sequence[Sentence], index: CorpusIndex, subject: str | None = None
) -> float:
    """How much of the question's subject the best chosen sentence stating an amount of money covers (0: none
    states one): an amount about something else does not answer."""
    return max((figure_fit(resolved, s, index, subject) for s in chosen if MONEY.search(s.text)), default=0.0)


def asks_figure(question: str) -> bool:
    return bool(FIGURE_QUESTION.search(question)) or asks_money(question)


#: Where a question asking several things divides: "how often do docs get reappointed + how much CME do we need?".
_PARTS = re.compile(
    r"\?+\s*|\s+[+&]\s+|;\s*|,?\s+(?:and|also|plus|but)\s+(?=(?:how|what|who|when|where|which|why|is|are|do|does|"
    r"can|will)\b)",
    re.I,
)


_LEANS = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her)\b", re.I)


def figure_part(question: str) -> str | None:
    """The part of a question asking several things that asks for a figure (the last, when several do), whose
    words alone name the figure's subject; None for a question asking one thing or no figure. "Reappointment
    occurs every 24 months." states how often docs get reappointed, though not how much CME they need."""
    parts = [p.strip() for p in _PARTS.split(question) if p and p.strip()]
    asking = [p for p in parts if asks_figure(p)]
    if len(parts) < 2 or not asking or _LEANS.search(asking[-1]):
        return None  # "how long can they last?" is about what the part before names
    named = [w for w in _WORD.findall(asking[-1].lower()) if w not in ASKING_WORDS and w not in stopwords()]
    return asking[-1] if named else None  # "... before the board meets? for how long?": the same


def asks_money(question: str) -> bool:
    """The question asks for an amount of money (a salary, a fee, a stipend, "do I get paid ...")."""
    if MONEY_QUESTION.search(question):
        return True
    return bool(PAY_NOUN.search(question)) and not _ASKS_WHO_WHEN.match(question)


def states_figure(
    resolved: str, chosen: Sequence[Sentence], index: CorpusIndex, best: float, subject: str | None = None
) -> bool:
    """Some chosen sentence states the asked figure (:func:`states_asked_figure`, covering at least
    STATED_SUBJECT_COVERAGE of the question's subject)."""
    return any(
        states_asked_figure(resolved, s, index, best, STATED_SUBJECT_COVERAGE, subject) for s in chosen
    )


def states_asked_figure(
    resolved: str,
    sentence: Sentence,
    index: CorpusIndex,
    best: float,
    coverage: float = SUBJECT_COVERAGE,
    subject: str | None = None,
) -> bool:
    """The sentence states a figure of the asked kind and either covers ``coverage`` of the question's subject
    (its content words other than those asking for the figure, weighed by specificity) or is, in meaning, within
    NEAR_BEST of the best-matching sentence (``best``: its cosine similarity to the question) and covers at least
    NEAR_BEST_COVERAGE of the subject."""
    fit = figure_fit(resolved, sentence, index, subject)
    if fit >= coverage:
        return True
    return (
        sentence.similarity >= best - NEAR_BEST
        and _holds_asked_figure(resolved, sentence.text)
        and fit >= NEAR_BEST_COVERAGE
    )


def _holds_asked_figure(resolved: str, text: str) -> bool:
    """``text`` states a figure of the kind the question asks for; money by an amount or by its absence
    ("Clinic telephone call earns no stipend ...")."""
    if asks_money(resolved) and MONEY.search(text):
        return True
    return bool(FIGURE.search(text)) and states_kind(resolved, text)


def _coverage(
    text: str, chosen: Sequence[Sentence], index: CorpusIndex, keep_generic: bool = False
) -> tuple[float, float]:
    """Specificity-weighted share of ``text``'s content words found in the chosen sentences, and the share of
    that weight on rare words (the part of their specificity above UNKNOWN_FLOOR) the corpus does not use.

    :param keep_generic: count the domain's generic words too ("chief medical officer"): when the subject of a
        figure is the role itself, a sentence about something else does not state it.
    """
    covered = frozenset().union(*(s.terms for s in chosen)) if chosen else frozenset()
    prefixes = {t[:TERM_PREFIX] for t in covered if len(t) >= TERM_PREFIX}
    generic = stopwords() if keep_generic else generic_terms()
    total = found = unknown = 0.0
    vocabulary = index.lexical.surface_vocabulary
    for written in _WORD.findall(without_measures(text).lower()):
        if len(written) <= 3 and written not in vocabulary:
            continue  # "wat", "yrs", "u": chat shorthand, too short to correct or to count
        word = index.lexical.correct_word(written)  # a typo weighs what the word it stands for weighs
        if word in generic or len(word) < 3:
            continue
        terms = [t for t in analyze(word) if t not in generic]
        if not terms:
            continue
        weight = specificity(word)
        total += weight
        if all(t in covered or t[:TERM_PREFIX] in prefixes for t in terms):
            found += weight
        if not any(t in index.lexical.idf for t in terms):
            unknown += max(0.0, weight - UNKNOWN_FLOOR)
    if total == 0:
        return 1.0, 0.0
    return found / total, unknown / total


def missing_name(
    question: str, index: CorpusIndex, spelled_out: Mapping[str, Sequence[str]] | None = None
) -> str:
    """A name in the question that the sources never mention: an acronym the sources use neither as written nor
    spelled out ("JCAHO"; ``spelled_out`` maps a lower-cased acronym to its glossary expansions), a capitalised
    phrase of several words not found in the sources ("Certified Physician Executive"), or a word capitalised
    inside a sentence (so written as a name) that the sources lack. The first word of each sentence is
    capitalised as a matter of course and is never taken for a name, nor is "I"."""
    forms = spelled_out or {}

    def spelled(word: str) -> str:
        """Lower-cased, a misspelling corrected ("Joint Commision" is the sources' Joint Commission); an acronym
        is no misspelling ("CMIO" is no "CMO")."""
        return word.lower() if word.isupper() else index.lexical.correct_word(word.lower())

    def known(word: str) -> bool:
        lower = spelled(word)
        if lower in _CALENDAR:
            return True  # "this Saturday night": a day, capitalised as a matter of course, is no name
        if index.mentions(lower) or any(index.mentions(e) for e in forms.get(lower, ())):
            return True
        # an acronym's plural ("FQHCs", "CMOs") is known when the acronym is
        return len(word) > 2 and word.endswith("s") and word[:-1].isupper() and known(word[:-1])

    for match in _NAME.finditer(question):
        written = [w.strip(".'’-&") for w in match.group(1).split()]
        before = question[: match.start()].rstrip(" \"'“‘(¿¡")
        if not before or before[-1] in ".?!:;":
            written = written[1:]  # a sentence's first word
        # the apostrophe ending goes first: "I'd" is the pronoun "I", never a name
        words = [w for w in (_CONTRACTION.sub("", w) for w in written) if w and w.lower() not in _JOINING]
        if not words:
            continue
        if len(words) > 1:
            # Acronyms the sources know are names they use ("FQHC CMO"); the rest must occur as written.
            rest = [w for w in words if not (w.isupper() and known(w))]
            if len(rest) > 1 and not index.mentions(" ".join(spelled(w) for w in rest)):
                # named as asked, joining words kept: "HFAP and Joint Commission", not "HFAP Joint Commission"
                while written and written[0].lower() in _JOINING:
                    written = written[1:]
                while written and written[-1].lower() in _JOINING:
                    written = written[:-1]
                return " ".join(_CONTRACTION.sub("", w) for w in written if w)
            if len(rest) != 1:
                continue
            words = rest
        word = words[0]
        if known(word):
            continue
        if word.isupper() or not _common(word) or len(word) > 3:
            return word
    return ""


def absent_word(text: str, index: CorpusIndex) -> str:
    """The first content word of ``text`` that the sources never use (a typo counts as the word it stands for),
    as written; "" when there is none. A follow-up that only names another subject ("and for diabetes
    control?") asks about its words alone: the sources cannot answer it if they never use one of them."""
    written: str
    for written in _WORD.findall(text.lower()):
        if len(written) <= 3:
            continue
        word = index.lexical.correct_word(written)
        terms = [t for t in analyze(word) if t not in generic_terms()]
        if terms and not any(t in index.lexical.idf for t in terms):
            return written
    return ""


def _common(word: str) -> bool:
    """An ordinary English word ("Honestly", "Aren't", "California"), whatever its capital letter."""
    return zipf_frequency(word.lower()) >= 3.5
