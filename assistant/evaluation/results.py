"""What an evaluation run produces. The runner fills these; the reports and the gate only read them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Metrics where a lower value is better; every other metric is better higher.
LOWER_IS_BETTER = frozenset(
    {
        "false_refusal_rate",
        "dangling_opener_rate",
        "list_before_leadin_rate",
        "off_document_rate",
        "documents_per_answer",
        "latency_p50_ms",
        "latency_p95_ms",
    }
)
#: per-case metrics averaged with a weight instead of plainly: metric -> the per-case score holding its weight.
#: off_document_rate is a share of answer *sentences*, so each case counts by its number of cited sentences.
WEIGHTED = {"off_document_rate": "cited_sentences"}
#: per-case scores that are weights, not metrics: kept in results.jsonl, not averaged into the summary
WEIGHTS = frozenset(WEIGHTED.values())


@dataclass(frozen=True)
class CaseResult:
    """One golden case as answered, with its per-case scores (None where a metric does not apply)."""

    case_id: str
    category: str
    split: str
    question: str
    answerable: bool
    answered: bool
    answer: str
    citations: list[dict[str, Any]]
    #: doc ids of the retrieved passages, in rank order
    retrieved: list[str]
    scores: dict[str, float | None]
    latency_ms: float
    #: the dataset the case came from: its file's stem ("golden", "users", "paraphrase")
    dataset: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        """A case as results.jsonl holds it (fields this version does not know are left out)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class RunSummary:
    """Aggregates of one configuration over the dataset."""

    name: str
    backend: str
    dataset: str
    cases: int
    created: str
    #: metric name -> value over all cases where it applies, e.g. "hit@5", "mrr", "faithfulness"
    metrics: dict[str, float]
    #: category -> metric name -> value
    by_category: dict[str, dict[str, float]]
    settings: dict[str, Any] = field(default_factory=dict)
    #: split ("dev", "test", "paraphrase") -> metric name -> value, splits in order of first appearance
    by_split: dict[str, dict[str, float]] = field(default_factory=dict)
    #: dataset (file stem) -> metric name -> value, in the order the datasets were given
    by_dataset: dict[str, dict[str, float]] = field(default_factory=dict)
    #: split -> number of cases; dataset -> number of cases
    split_cases: dict[str, int] = field(default_factory=dict)
    dataset_cases: dict[str, int] = field(default_factory=dict)
    #: metric -> [low, high]: the 95% bootstrap interval of each quality metric over all cases
    #: (assistant/evaluation/uncertainty.py), and the same per split
    intervals: dict[str, list[float]] = field(default_factory=dict)
    split_intervals: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    """Each threshold checked: (metric, bound kind "min"/"max", bound, actual, passed)."""

    checks: list[tuple[str, str, float, float | None, bool]]

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.checks)

    def failures(self) -> list[str]:
        return [
            f"{metric} = {'missing' if actual is None else f'{actual:.3f}'} "
            f"({'below the minimum' if kind == 'min' else 'above the maximum'} {bound:.3f})"
            for metric, kind, bound, actual, ok in self.checks
            if not ok
        ]


@dataclass(frozen=True)
class EvalRun:
    """A whole run: the main configuration, its cases, the ablation configurations, and the gate."""

    summary: RunSummary
    results: list[CaseResult]
    #: configuration name ("dense", "bm25", "hybrid", ...) -> overall metrics
    ablation: dict[str, dict[str, float]] = field(default_factory=dict)
    gate: GateResult | None = None
    #: the extractive answerer's refusal decision: its threshold, how it was fitted and its dev curve
    #: (threshold, false_refusal_rate, refusal_rate, precision, recall per point); empty for other backends
    answerability: dict[str, Any] = field(default_factory=dict)
