"""Calibrate retrieval fusion and the refusal thresholds on the golden set's dev split; report dev and test.

Usage: python evals/calibrate.py [--data-dir DIR]   (builds the index there if needed)
Relevance: a retrieved chunk is relevant when it contains one of the case's expected quotes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

from assistant import Assistant, Settings

GOLDEN = Path(__file__).with_name("golden.jsonl")


def load_cases() -> list[dict]:
    return [json.loads(line) for line in GOLDEN.read_text("utf-8").splitlines() if line.strip()]


def relevant(text: str, quotes: list[str]) -> bool:
    norm = " ".join(text.split())
    return any(" ".join(q.split()) in norm for q in quotes)


def retrieval_metrics(assistant: Assistant, cases: list[dict], mode: str, k: int = 5) -> dict[str, float]:
    from assistant.conversation import parse_history, standalone

    hits, rr, ndcg = 0, 0.0, 0.0
    answerable = [c for c in cases if c["answerable"]]
    for case in answerable:
        query = standalone(case["question"], parse_history(case["history"]))
        got = assistant.retriever.retrieve(
            query, top_k=k, mode=mode, generation=assistant.manifest.generation
        )
        flags = [relevant(p.chunk.text, case["quotes"]) for p in got.passages]
        hits += any(flags)
        rr += next((1 / (i + 1) for i, f in enumerate(flags) if f), 0.0)
        dcg = sum(1 / math.log2(i + 2) for i, f in enumerate(flags) if f)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(k, max(1, sum(flags)))))
        ndcg += dcg / ideal if ideal else 0.0
    n = max(len(answerable), 1)
    return {"hit@5": hits / n, "mrr": rr / n, "ndcg@5": ndcg / n}


def refusal_rates(assistant: Assistant, cases: list[dict]) -> dict[str, float]:
    false_refusals = false_answers = 0
    answerable = [c for c in cases if c["answerable"]]
    unanswerable = [c for c in cases if not c["answerable"]]
    wrong: list[str] = []
    for case in cases:
        answer = assistant.ask(case["question"], history=case["history"])
        if case["answerable"] and not answer.answered:
            false_refusals += 1
            wrong.append(f"false refusal: {case['id']}: {case['question']}")
        if not case["answerable"] and answer.answered:
            false_answers += 1
            wrong.append(f"false answer: {case['id']}: {case['question']}")
    return {
        "false_refusal": false_refusals / max(len(answerable), 1),
        "false_answer": false_answers / max(len(unanswerable), 1),
        "wrong": wrong,  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=Path("data/calibration"))
    parser.add_argument("--skip-retrieval", action="store_true")
    parser.add_argument("--quick", action="store_true", help="skip the threshold grid")
    args = parser.parse_args()
    base = Assistant(Settings.from_env(data_dir=args.data_dir))
    base.ensure_index()
    cases = load_cases()
    splits = {
        "dev": [c for c in cases if c["split"] == "dev"],
        "test": [c for c in cases if c["split"] == "test"],
    }

    def variant(**changes) -> Assistant:
        a = Assistant(base.settings.replace(**changes))
        a.__dict__["embedder"] = base.embedder
        return a

    if not args.skip_retrieval:
        print("retrieval (top 5):")
        configs = [
            ("dense", {}, "dense"),
            ("bm25", {}, "bm25"),
            ("rrf k=60", {"fusion": "rrf"}, "hybrid"),
            ("rrf k=20", {"fusion": "rrf", "rrf_k": 20}, "hybrid"),
        ]
        configs += [
            (f"weighted a={a}", {"fusion": "weighted", "fusion_dense_weight": a}, "hybrid")
            for a in (0.3, 0.5, 0.7)
        ]
        configs += [
            (
                f"weighted a=0.3 cap={cap}",
                {"fusion": "weighted", "fusion_dense_weight": 0.3, "max_per_document": cap},
                "hybrid",
            )
            for cap in (2, 3)
        ]
        for name, changes, mode in configs:
            a = variant(**changes)
            row = {s: retrieval_metrics(a, cs, mode) for s, cs in splits.items()}
            print(
                f"  {name:16s} "
                + "  ".join(f"{s}: " + " ".join(f"{k}={v:.3f}" for k, v in m.items()) for s, m in row.items())
            )
    if args.quick:
        grid: list[tuple[float, float]] = []
    else:
        grid = list(itertools.product((0.25, 0.3, 0.35, 0.4), (0.3, 0.4, 0.5, 0.6)))
    print("refusal (dev):")
    for sim, cov in grid:
        r = refusal_rates(variant(min_sentence_similarity=sim, min_term_coverage=cov), splits["dev"])
        print(
            f"  sim>={sim} coverage>={cov}: false refusal {r['false_refusal']:.3f}, false answer {r['false_answer']:.3f}"
        )
    a = variant()
    for s, cs in splits.items():
        r = refusal_rates(a, cs)
        print(f"default on {s}: false refusal {r['false_refusal']:.3f}, false answer {r['false_answer']:.3f}")
        for line in r["wrong"]:
            print("   ", line)


if __name__ == "__main__":
    main()
