"""Per-case metrics, pure functions of text (and, for support, sentence vectors). Definitions: evals/README.md."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import pairwise

import numpy as np

from assistant.answer.citations import LIST_MARKER, MARKER, answer_sentences
from assistant.ingest.sentences import split_units

Encoder = Callable[[Sequence[str]], np.ndarray]


def normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def relevant(passage: str, quotes: Sequence[str]) -> bool:
    """A passage is relevant when it contains one of the expected quotes (whitespace and case folded)."""
    text = normalise(passage)
    return any(normalise(q) in text for q in quotes)


def retrieval_scores(passages: Sequence[str], quotes: Sequence[str], k: int) -> dict[str, float]:
    """hit@k, recall@k, MRR and nDCG@k of a ranked list of passage texts against the expected quotes."""
    top = list(passages[:k])
    flags = [relevant(p, quotes) for p in top]
    found = sum(any(normalise(q) in normalise(p) for p in top) for q in quotes)
    first = next((i for i, f in enumerate(flags) if f), None)
    dcg = sum(1 / math.log2(i + 2) for i, f in enumerate(flags) if f)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, max(1, sum(flags)))))
    return {
        f"hit@{k}": float(first is not None),
        f"recall@{k}": found / len(quotes) if quotes else 0.0,
        "mrr": 0.0 if first is None else 1 / (first + 1),
        f"ndcg@{k}": dcg / ideal if ideal else 0.0,
    }


def key_fact_coverage(answer: str, facts: Sequence[str]) -> float:
    """Share of facts found in the answer; ``"a|b"`` is found when either alternative is."""
    if not facts:
        return 1.0
    text = normalise(MARKER.sub(" ", answer))
    return sum(any(normalise(alt) in text for alt in fact.split("|") if alt.strip()) for fact in facts) / len(
        facts
    )


#: A list item of a series answer: the part's heading, a dash, then a quote ("Level 1: Responsible Practitioner
#: — The staff member raises the concern ...").
_LABELLED_QUOTE = re.compile(r"^(?P<label>[^—]{1,160}?) — (?P<quote>\S.*)$", re.S)


class SupportJudge:
    """Decides whether a sentence is supported by a passage: verbatim containment, or sentence-embedding
    similarity to the passage's most similar sentence at or above ``threshold`` (no LLM judge)."""

    def __init__(self, encode: Encoder, threshold: float) -> None:
        self.encode = encode
        self.threshold = threshold
        self._cache: dict[str, np.ndarray] = {}

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.encode(missing), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1))

    def supports(self, passage: str, sentence: str, heading: str = "") -> bool:
        """:param heading: the passage's heading path; a list item "<heading> — <quote>" of a series answer
        is judged by its quote when its label is the passage's heading ("Level 1: Responsible Practitioner —
        The staff member raises ...")."""
        labelled = _LABELLED_QUOTE.match(sentence)
        if labelled and heading and normalise(labelled.group("label")) in normalise(heading):
            sentence = labelled.group("quote")
        stripped = sentence.rstrip(".").strip()
        if normalise(stripped) in normalise(passage):
            return True
        units = [passage[u.start : u.end] for u in split_units(passage)] or [passage]
        sims = self._vectors(units) @ self._vectors([sentence])[0]
        return bool(sims.size and float(sims.max()) >= self.threshold)


def citation_scores(
    answer: str,
    cited: dict[int, str],
    quotes: Sequence[str],
    judge: SupportJudge,
    answerable: bool,
    headings: Mapping[int, str] | None = None,
) -> dict[str, float | None]:
    """citation_precision, citation_recall and faithfulness of one answered case.

    :param cited: marker -> text of the passage it stands for.
    :param headings: marker -> the passage's heading path (:meth:`SupportJudge.supports`).
    """
    sentences = answer_sentences(answer)
    pairs = [(s, m) for s, markers in sentences for m in markers]
    heading = headings or {}

    def supported(sentence: str, marker: int) -> bool:
        return marker in cited and judge.supports(cited[marker], sentence, heading.get(marker, ""))

    precision = sum(supported(s, m) for s, m in pairs) / len(pairs) if pairs else None
    faithful = [any(supported(s, m) for m in markers) for s, markers in sentences]
    recall: float | None = None
    if answerable and quotes:
        recall = sum(any(normalise(q) in normalise(p) for p in cited.values()) for q in quotes) / len(quotes)
    return {
        "citation_precision": precision,
        "citation_recall": recall,
        "faithfulness": sum(faithful) / len(faithful) if faithful else 0.0,
    }


#: Words and phrases that, opening an answer, refer back to something the reader has not been shown. The one
#: list dangling_opener uses; evals/README.md lists it too. Matched case-insensitively, as whole words.
DANGLING_OPENERS: tuple[str, ...] = (
    "It",
    "Its",
    "This",
    "That",
    "These",
    "Those",
    "They",
    "Their",
    "He",
    "She",
    "Also",
    "Additionally",
    "Moreover",
    "Furthermore",
    "Finally",
    "Firstly",
    "Secondly",
    "Thirdly",
    "However",
    "As a result",
    "In addition",
    "Alongside this",
    "Such",
    "The latter",
    "The former",
    "Lastly",
    "Alternatively",
    "Instead",
    "Otherwise",
    "Similarly",
    "Likewise",
    "Therefore",
    "Thus",
    "Hence",
    "Consequently",
    "Indeed",
    "In fact",
    "For example",
    "For instance",
    "On the other hand",
    "In contrast",
    "By contrast",
    "Conversely",
    "Even so",
    "After all",
    "Besides",
    "Nevertheless",
    "Nonetheless",
    "Meanwhile",
    "But",
    "And",
    "Yet",
)
#: Interjections that may come before one of DANGLING_OPENERS ("Well, it's definitely not a desk job!").
INTERJECTIONS: tuple[str, ...] = ("Well", "So", "Now", "Yes", "No", "Oh", "Okay", "OK")
_DANGLING = re.compile(
    r"^[\"'“‘(\[]*(?:(?:"
    + "|".join(map(re.escape, INTERJECTIONS))
    + r"),?\s+)?(?:"
    + "|".join(
        r"\s+".join(map(re.escape, w.split())) for w in sorted(DANGLING_OPENERS, key=len, reverse=True)
    )
    + r")\b",
    re.IGNORECASE,
)


def first_sentence(answer: str) -> str:
    """The answer's first sentence or list item, markers and list marker stripped ("" for an empty answer)."""
    sentences = answer_sentences(answer)
    return sentences[0][0] if sentences else ""


def key_fact_first(answer: str, facts: Sequence[str]) -> bool:
    """Whether the first sentence holds at least one key fact (alternatives split on "|", as key_fact_coverage)."""
    first = first_sentence(answer)
    return bool(first) and key_fact_coverage(first, facts) > 0


def dangling_opener(answer: str) -> bool:
    """Whether the first sentence opens with a word of DANGLING_OPENERS ("It", "This", "However", ...)."""
    return bool(_DANGLING.match(first_sentence(answer)))


def dangling_inside(answer: str, cited: Mapping[int, str]) -> bool:
    """Whether a sentence after the first leans back (opens with a word of DANGLING_OPENERS, as
    :func:`dangling_opener`) while the answer does not quote, right before it, the sentence it follows in its
    source: "Well, it's definitely not a 9-to-5 desk job!" after a sentence about budgets.

    :param cited: marker -> text of the passage it stands for; the sentence before counts when a passage the
        answer cites holds it right before the leaning one (list markers and spacing aside), or ends with it
        while another begins with the leaning one (passages follow each other).
    """
    sentences = answer_sentences(answer)
    passages = [_flat(text) for text in cited.values()]
    for (before, _), (sentence, _) in pairwise(sentences):
        if not _DANGLING.match(sentence):
            continue
        first, then = _flat(before), _flat(sentence)
        if any(f"{first} {then}" in text for text in passages):
            continue
        if any(p.endswith(first) for p in passages) and any(p.startswith(then) for p in passages):
            continue
        return True
    return False


def _flat(text: str) -> str:
    """Text as one line: list markers and spacing folded away, case kept."""
    return " ".join(LIST_MARKER.sub("", text).split())


def list_before_leadin(answer: str) -> bool:
    """Whether the answer opens with a list item, or has a list that is not introduced while a lead-in comes later.

    Units are those of the ingest splitter (sentences, and list items whole), markers stripped. A lead-in is a
    sentence outside a list that ends with ":". A list (a run of consecutive list items) is introduced when the
    unit just before it is a lead-in. The answer is flagged when its first unit is a list item (no lead-in at
    all), or when a list that is not introduced comes before a lead-in: its items come before the sentence that
    introduces them.
    """
    text = MARKER.sub("", answer)
    units = [(text[u.start : u.end].strip(), u.is_list_item) for u in split_units(text)]
    units = [(t, item) for t, item in units if re.search(r"\w", t)]
    if not units:
        return False
    if units[0][1]:
        return True
    orphan_list = False
    for i, (sentence, is_item) in enumerate(units):
        if is_item:
            new_list = not units[i - 1][1]
            if new_list and not units[i - 1][0].endswith(":"):
                orphan_list = True
        elif orphan_list and sentence.endswith(":"):
            return True
    return False


def off_document(
    answer: str, cited_docs: Mapping[int, str], expected_docs: Collection[str]
) -> tuple[int, int]:
    """(sentences citing only documents outside ``expected_docs``, sentences citing at least one document).

    :param cited_docs: marker -> doc id of the passage it stands for; a marker not in it cites nothing.
    """
    off = cited = 0
    for _, numbers in answer_sentences(answer):
        docs = {cited_docs[m] for m in numbers if m in cited_docs}
        if docs:
            cited += 1
            off += docs.isdisjoint(expected_docs)
    return off, cited


def readability_scores(
    answer: str,
    cited_docs: Mapping[int, str],
    key_facts: Sequence[str],
    expected_docs: Collection[str],
    answerable: bool,
    passages: Mapping[int, str] | None = None,
) -> dict[str, float | None]:
    """key_fact_first, dangling_opener_rate, dangling_inside_rate (when ``passages``, marker -> passage text, is
    given), list_before_leadin_rate, off_document_rate (with its weight, cited_sentences) and
    documents_per_answer of one answered case; None where a metric does not apply."""
    off, cited = off_document(answer, cited_docs, expected_docs)
    applies = answerable and bool(expected_docs) and cited > 0
    return {
        "key_fact_first": float(key_fact_first(answer, key_facts)) if answerable and key_facts else None,
        "dangling_opener_rate": float(dangling_opener(answer)),
        "dangling_inside_rate": None if passages is None else float(dangling_inside(answer, passages)),
        "list_before_leadin_rate": float(list_before_leadin(answer)),
        "off_document_rate": off / cited if applies else None,
        "cited_sentences": float(cited) if applies else None,
        "documents_per_answer": float(len(set(cited_docs.values()))),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1]); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
