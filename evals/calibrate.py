"""Calibrate retrieval fusion on the golden set's dev split and report where the refusal decision stands; report dev and test.

Usage: python evals/calibrate.py [--data-dir DIR] [--skip-retrieval]
Settings are chosen on dev; test is printed next to it and never used to choose. Metric definitions are the
eval suite's (assistant/evaluation/metrics.py, evals/README.md).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from assistant import Assistant, Settings
from assistant.evaluation.dataset import EvalCase, load_cases
from assistant.evaluation.metrics import retrieval_scores

K = 5


def retrieval_metrics(assistant: Assistant, cases: list[EvalCase], mode: str) -> dict[str, float]:
    rows = []
    for case in (c for c in cases if c.answerable):
        got = assistant.retrieve(case.question, history=case.history, top_k=K, mode=mode)  # type: ignore[arg-type]
        rows.append(retrieval_scores([p.chunk.text for p in got.passages], case.quotes, K))
    return {name: statistics.fmean(r[name] for r in rows) for name in ("hit@5", "mrr", "ndcg@5")}


def refusal_rates(assistant: Assistant, cases: list[EvalCase]) -> dict[str, Any]:
    wrong: list[str] = []
    answerable = [c for c in cases if c.answerable]
    unanswerable = [c for c in cases if not c.answerable]
    for case in cases:
        answered = assistant.ask(case.question, history=case.history).answered
        if answered != case.answerable:
            kind = "false refusal" if case.answerable else "false answer"
            wrong.append(f"{kind}: {case.id}: {case.question}")
    return {
        "false_refusal": sum(w.startswith("false refusal") for w in wrong) / max(len(answerable), 1),
        "false_answer": sum(w.startswith("false answer") for w in wrong) / max(len(unanswerable), 1),
        "wrong": wrong,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=Path("data/calibration"))
    parser.add_argument("--skip-retrieval", action="store_true")
    args = parser.parse_args()
    base = Assistant(Settings.from_env(data_dir=args.data_dir))
    base.ensure_index()
    cases = load_cases()
    splits = {name: [c for c in cases if c.split == name] for name in ("dev", "test")}

    def variant(**changes: Any) -> Assistant:
        assistant = Assistant.build(base.settings.replace(**changes), embedder=base.embedder)
        return assistant

    if not args.skip_retrieval:
        print("retrieval (top 5):")
        configs: list[tuple[str, dict[str, Any], str]] = [
            ("dense", {}, "dense"),
            ("bm25", {}, "bm25"),
            ("rrf k=60", {"fusion": "rrf", "max_per_document": 0}, "hybrid"),
            ("rrf k=20", {"fusion": "rrf", "rrf_k": 20, "max_per_document": 0}, "hybrid"),
        ]
        configs += [
            (
                f"weighted a={a}",
                {"fusion": "weighted", "fusion_dense_weight": a, "max_per_document": 0},
                "hybrid",
            )
            for a in (0.3, 0.5, 0.7)
        ]
        configs += [(f"weighted a=0.3 cap={cap}", {"max_per_document": cap}, "hybrid") for cap in (2, 3)]
        for name, changes, mode in configs:
            assistant = variant(**changes)
            row = {s: retrieval_metrics(assistant, cs, mode) for s, cs in splits.items()}
            print(
                f"  {name:22s} "
                + "  ".join(f"{s}: " + " ".join(f"{k}={v:.3f}" for k, v in m.items()) for s, m in row.items())
            )
    # The refusal decision is fitted by evals/calibrate_answerability.py; this reports where it stands.
    default = variant()
    for name, split_cases in splits.items():
        r = refusal_rates(default, split_cases)
        print(
            f"default on {name}: false refusal {r['false_refusal']:.3f}, false answer {r['false_answer']:.3f}"
        )
        for line in r["wrong"]:
            print("   ", line)


if __name__ == "__main__":
    main()
