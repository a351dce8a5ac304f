"""The whole evaluation as `cmo-assistant eval` runs it: cases -> main run -> ablation -> gate -> reports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.evaluation.dataset import DEFAULT_DATASETS, EvalCase, load_datasets
from assistant.evaluation.gate import check, load_thresholds, support_threshold
from assistant.evaluation.metrics import SupportJudge
from assistant.evaluation.results import EvalRun
from assistant.evaluation.runner import ABLATION_MODES, HISTORIES, K, aggregate, run_cases, summarise
from assistant.pipeline import Assistant
from assistant.search.protocols import Mode

BACKENDS = ("extractive", "openai", "ollama")


def run_suite(
    assistant: Assistant,
    dataset: Path | Sequence[Path] | None = None,
    thresholds: Path | None = None,
    backend: str = "extractive",
    split: str = "all",
    ablation: bool = True,
    progress: bool = False,
    out_dir: Path | None = None,
    previous: Path | None = None,
    history: str = "written",
) -> tuple[EvalRun, dict[str, Path]]:
    """Run the suite; write the reports to ``out_dir`` when given. Returns the run and the files written.

    :param dataset: one JSONL file of cases or several (default DEFAULT_DATASETS: golden, users, paraphrase);
        case ids must be unique across the files.
    :param split: a split name present in the cases ("dev", "test", "paraphrase") or "all".
    :param history: how follow-up cases' earlier turns are given (:data:`HISTORIES`): as written in the case, or
        replayed through the assistant so that they hold its own answers.
    """
    if history not in HISTORIES:
        raise ConfigError(f"Unknown history {history!r}; use one of: {', '.join(HISTORIES)}.")
    if backend not in BACKENDS:
        raise ConfigError(f"Unknown answer backend {backend!r}; available: {', '.join(BACKENDS)}.")
    if backend != assistant.settings.llm:
        # Score another backend with everything else as configured (its endpoint and model from the settings).
        assistant = Assistant(assistant.settings.replace(llm=backend))
    limits = load_thresholds(thresholds)
    paths = _dataset_paths(dataset)
    cases = _cases_in_split(load_datasets(paths), split)
    if previous is not None:
        from assistant.evaluation.report import load_summary

        load_summary(previous)  # fail before the run, not after it (raises a ConfigError naming the folder)
    assistant.ensure_index()
    assistant.ask(cases[0].question, history=cases[0].history)  # warm-up: model, BM25 and caches load untimed
    judge = SupportJudge(assistant.embedder.encode, support_threshold(limits))
    results = run_cases(assistant, cases, judge, "hybrid", progress, label="hybrid", history=history)
    settings = {**_run_settings(assistant, judge, split), "history": history}
    summary = summarise("hybrid", backend, paths, results, settings)
    table: dict[str, dict[str, float]] = {}
    if ablation:
        modes: tuple[Mode, ...] = tuple(m for m in ABLATION_MODES if m != "hybrid")
        for mode in modes:
            table[mode] = aggregate(
                run_cases(assistant, cases, judge, mode, progress, label=mode, history=history)
            )
        table["hybrid"] = summary.metrics
    gate = check(summary.metrics, limits, summary.by_split)
    run = EvalRun(
        summary=summary, results=results, ablation=table, gate=gate, answerability=_answerability(assistant)
    )
    written: dict[str, Path] = {}
    if out_dir is not None:
        from assistant.evaluation.report import write_run

        written = {p.name: p for p in write_run(run, out_dir, previous).values()}
    return run, written


def _dataset_paths(dataset: Path | Sequence[Path] | None) -> list[Path]:
    if dataset is None:
        return list(DEFAULT_DATASETS)
    return [dataset] if isinstance(dataset, Path) else list(dataset)


def _run_settings(assistant: Assistant, judge: SupportJudge, split: str) -> dict[str, Any]:
    """What the run was made with, recorded in its summary."""
    s = assistant.settings
    return {
        "top_k": s.top_k,
        "k": K,
        "fusion": s.fusion,
        "fusion_dense_weight": s.fusion_dense_weight,
        "max_per_document": s.max_per_document,
        "chunk_tokens": s.chunk_tokens,
        "support_threshold": judge.threshold,
        "split": split,
        "embedding_model": assistant.embedder.name,
    }


def _cases_in_split(cases: list[EvalCase], split: str) -> list[EvalCase]:
    """The cases of one split ("all" keeps every case); a split with no cases is a ConfigError naming those present."""
    if split == "all":
        return cases
    chosen = [c for c in cases if c.split == split]
    if not chosen:
        present = ", ".join(dict.fromkeys(c.split for c in cases))
        raise ConfigError(
            f"The dataset has no cases in the {split!r} split; its splits are {present} (or all)."
        )
    return chosen


def _answerability(assistant: Assistant) -> dict[str, Any]:
    """The refusal decision of the extractive answerer, for the report: threshold, fit and dev curve."""
    from assistant.answer.extractive import ExtractiveAnswerer

    answerer = assistant.answerer
    if not isinstance(answerer, ExtractiveAnswerer):
        return {}
    return {
        "threshold": answerer.model.threshold,
        "features": list(answerer.model.features),
        **answerer.model.fitted,
    }
