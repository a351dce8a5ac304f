"""Per-case metrics, pure functions of text (and, for support, sentence vectors). Definitions: evals/README.md."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from assistant.answer.citations import MARKER, answer_sentences
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

    def supports(self, passage: str, sentence: str) -> bool:
        stripped = sentence.rstrip(".").strip()
        if normalise(stripped) in normalise(passage):
            return True
        units = [passage[u.start : u.end] for u in split_units(passage)] or [passage]
        sims = self._vectors(units) @ self._vectors([sentence])[0]
        return bool(sims.size and float(sims.max()) >= self.threshold)


def citation_scores(
    answer: str, cited: dict[int, str], quotes: Sequence[str], judge: SupportJudge, answerable: bool
) -> dict[str, float | None]:
    """citation_precision, citation_recall and faithfulness of one answered case.

    :param cited: marker -> text of the passage it stands for.
    """
    sentences = answer_sentences(answer)
    pairs = [(s, m) for s, markers in sentences for m in markers]
    precision = (
        sum(m in cited and judge.supports(cited[m], s) for s, m in pairs) / len(pairs) if pairs else None
    )
    faithful = [any(m in cited and judge.supports(cited[m], s) for m in markers) for s, markers in sentences]
    recall: float | None = None
    if answerable and quotes:
        recall = sum(any(normalise(q) in normalise(p) for p in cited.values()) for q in quotes) / len(quotes)
    return {
        "citation_precision": precision,
        "citation_recall": recall,
        "faithfulness": sum(faithful) / len(faithful) if faithful else 0.0,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1]); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
