"""Run golden cases through the Assistant and score them: per case, per category, split and dataset, overall,
per ablation."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.evaluation.dataset import EvalCase
from assistant.evaluation.metrics import (
    SupportJudge,
    citation_scores,
    key_fact_coverage,
    percentile,
    readability_scores,
    retrieval_scores,
)
from assistant.evaluation.results import WEIGHTED, WEIGHTS, CaseResult, RunSummary
from assistant.evaluation.uncertainty import intervals
from assistant.pipeline import Assistant
from assistant.search.protocols import Mode

K = 5
ABLATION_MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
#: How a follow-up case's earlier turns reach the assistant: "written", as the case file has them (its assistant
#: turns are short summaries a person wrote), or "replayed": each earlier question is asked of the assistant in
#: turn and the history holds its own answers, as a user's conversation does.
HISTORIES = ("written", "replayed")
Turns = list[dict[str, str]]


def score_case(
    assistant: Assistant,
    case: EvalCase,
    judge: SupportJudge,
    mode: Mode = "hybrid",
    history: Turns | None = None,
) -> CaseResult:
    """Ask the case's question and score the answer.

    :param history: the turns before the question, when not the case's own (:func:`replayed_history`).
    """
    started = time.perf_counter()
    answer = assistant.ask(
        case.question,
        history=case.history if history is None else history,
        mode=mode,
        top_k=max(K, assistant.settings.top_k),
    )
    latency = (time.perf_counter() - started) * 1000
    scores: dict[str, float | None] = {"refused": float(not answer.answered)}
    if case.answerable:
        scores.update(retrieval_scores([p.chunk.text for p in answer.retrieved], case.quotes, K))
        scores["key_fact_coverage"] = (
            key_fact_coverage(answer.answer, case.key_facts) if answer.answered else 0.0
        )
        if not answer.answered and case.expected_docs:
            # a refused answerable question: does the refusal show where the answer is?
            shown = {near.doc_id for near in answer.closest}
            scores["refusal_points_to_source"] = float(bool(shown & set(case.expected_docs)))
    if answer.answered:
        cited = {c.marker: c.text for c in answer.citations}
        headings = {c.marker: c.section for c in answer.citations}
        scores.update(citation_scores(answer.answer, cited, case.quotes, judge, case.answerable, headings))
        docs = {c.marker: c.doc_id for c in answer.citations}
        scores.update(
            readability_scores(
                answer.answer, docs, case.key_facts, case.expected_docs, case.answerable, cited
            )
        )
    return CaseResult(
        case_id=case.id,
        category=case.category,
        split=case.split,
        question=case.question,
        answerable=case.answerable,
        answered=answer.answered,
        answer=answer.answer,
        citations=[c.to_dict() for c in answer.citations],
        retrieved=[p.chunk.doc_id for p in answer.retrieved],
        scores=scores,
        latency_ms=latency,
        dataset=case.dataset,
    )


def aggregate(results: Sequence[CaseResult]) -> dict[str, float]:
    """Mean of each per-case metric where it applies, refusal rates, and latency percentiles."""
    metrics: dict[str, float] = {}
    names = sorted({name for r in results for name in r.scores if name != "refused" and name not in WEIGHTS})
    for name in names:
        weight = WEIGHTED.get(name)
        values = [v for r in results if (v := r.scores.get(name)) is not None]
        if weight is None:
            if values:
                metrics[name] = statistics.fmean(values)
            continue
        weights = [r.scores.get(weight) or 0.0 for r in results if r.scores.get(name) is not None]
        if sum(weights) > 0:
            metrics[name] = statistics.fmean(values, weights)
    must_refuse = [r for r in results if not r.answerable]
    answerable = [r for r in results if r.answerable]
    if must_refuse:
        metrics["refusal_rate"] = statistics.fmean(float(not r.answered) for r in must_refuse)
    if answerable:
        metrics["false_refusal_rate"] = statistics.fmean(float(not r.answered) for r in answerable)
    latencies = [r.latency_ms for r in results]
    metrics["latency_p50_ms"] = percentile(latencies, 0.5)
    metrics["latency_p95_ms"] = percentile(latencies, 0.95)
    return metrics


def group_by(results: Sequence[CaseResult], key: Callable[[CaseResult], str]) -> dict[str, list[CaseResult]]:
    """Results grouped by ``key``, groups in order of first appearance."""
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return groups


def by_category(results: Sequence[CaseResult]) -> dict[str, dict[str, float]]:
    groups = group_by(results, lambda r: r.category)
    return {name: aggregate(group) for name, group in sorted(groups.items())}


def by_split(results: Sequence[CaseResult]) -> dict[str, dict[str, float]]:
    """Metrics per split, in the order the splits first occur (dev, test, paraphrase for the default datasets)."""
    return {name: aggregate(group) for name, group in group_by(results, lambda r: r.split).items()}


def by_dataset(results: Sequence[CaseResult]) -> dict[str, dict[str, float]]:
    """Metrics per dataset (file stem), in the order the datasets were given."""
    return {name: aggregate(group) for name, group in group_by(results, lambda r: r.dataset).items()}


def run_cases(
    assistant: Assistant,
    cases: Sequence[EvalCase],
    judge: SupportJudge,
    mode: Mode = "hybrid",
    progress: bool = False,
    label: str = "",
    history: str = "written",
) -> list[CaseResult]:
    """Score each case; ``history`` is one of :data:`HISTORIES`."""
    if history not in HISTORIES:
        raise ConfigError(f"Unknown history {history!r}; use one of: {', '.join(HISTORIES)}.")
    items: Iterable[EvalCase] = cases
    if progress:
        from tqdm import tqdm

        items = tqdm(cases, desc=label or mode, unit="case", leave=False)
    answers: dict[str, str] = {}
    return [
        score_case(
            assistant,
            case,
            judge,
            mode,
            replayed_history(assistant, case.history, mode, answers) if history == "replayed" else None,
        )
        for case in items
    ]


def replayed_history(
    assistant: Assistant, history: Sequence[Mapping[str, str]], mode: Mode, answers: dict[str, str]
) -> Turns:
    """``history``'s user turns, each followed by the assistant's own answer to it (asked after the turns before
    it, as in a chat), in place of the assistant turns written in the case.

    :param answers: answers already given, by the conversation up to and including the question: cases that
        share earlier turns ask them once.
    """
    turns: Turns = []
    for turn in history:
        if turn.get("role") != "user":
            continue
        asked = [*turns, {"role": "user", "content": turn["content"]}]
        key = json.dumps([mode, asked])
        if key not in answers:
            answers[key] = assistant.ask(turn["content"], history=turns, mode=mode).answer
        turns = [*asked, {"role": "assistant", "content": answers[key]}]
    return turns


def summarise(
    name: str,
    backend: str,
    dataset: Path | Sequence[Path],
    results: Sequence[CaseResult],
    settings: dict[str, Any],
) -> RunSummary:
    """The run's summary. ``dataset`` is shown as its path, or the paths joined with ", " for several."""
    paths = [dataset] if isinstance(dataset, Path) else list(dataset)
    return RunSummary(
        name=name,
        backend=backend,
        dataset=", ".join(str(p) for p in paths),
        cases=len(results),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics=aggregate(results),
        by_category=by_category(results),
        settings=settings,
        by_split=by_split(results),
        by_dataset=by_dataset(results),
        split_cases={k: len(v) for k, v in group_by(results, lambda r: r.split).items()},
        dataset_cases={k: len(v) for k, v in group_by(results, lambda r: r.dataset).items()},
        intervals={m: i.as_list() for m, i in intervals(results).items()},
        split_intervals={
            split: {m: i.as_list() for m, i in intervals(group).items()}
            for split, group in group_by(results, lambda r: r.split).items()
        },
    )
