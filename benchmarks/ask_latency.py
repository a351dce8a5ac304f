"""Warm `ask` latency on the shipped corpus, split into embed / retrieve / compose, against the embedding floor.

Every golden question is asked once, in order, after one warm-up question (so caches hold only what earlier,
different questions left), as the app asks it: a process that has an index and never loaded torch, so
questions go through the ONNX export. Then again with the torch model, for comparison. The floor is the bare
question-embedding time with the same encoder, measured in the same loop just before each ask.
Writes benchmarks/results/ask_latency.json.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from _common import indexed, percentile, questions, settings_for, write_result


def measure(
    data: Path, encoder: str, cases: list[dict[str, Any]], rounds: int, corpus: Path | None
) -> dict[str, Any]:
    from assistant import Assistant

    assistant = Assistant(settings_for(data, corpus, query_encoder=encoder))
    assistant.ask("What does a CMO do?")  # warm-up: encoder, BM25 index, answerer
    stages: dict[str, list[float]] = {"floor": [], "embed": [], "search": [], "compose": [], "total": []}
    for _ in range(rounds):
        for case in cases:
            started = time.perf_counter()
            assistant.embedder.encode_query(case["question"])
            stages["floor"].append((time.perf_counter() - started) * 1000)
            t = assistant.ask(case["question"], history=case["history"]).timings_ms
            stages["embed"].append(t["embed"])
            stages["search"].append(t["retrieve"] - t["embed"])
            stages["compose"].append(t["generate"])
            stages["total"].append(t["total"])
    p50 = {k: statistics.median(v) for k, v in stages.items()}
    return {
        "query_encoder": assistant.embedder.query_encoder_name,
        "questions": len(stages["total"]),
        "total_p50_ms": round(p50["total"], 1),
        "total_p95_ms": round(percentile(stages["total"], 0.95), 1),
        "embed_p50_ms": round(p50["embed"], 1),
        "retrieve_p50_ms": round(p50["search"], 1),
        "compose_p50_ms": round(p50["compose"], 1),
        "floor_p50_ms": round(p50["floor"], 1),
        "p50_over_floor": round(p50["total"] / p50["floor"], 2),
    }


def main(
    data: Path, corpus: Path | None = None, rounds: int = 1, limit: int | None = None, out: Path | None = None
) -> dict[str, Any]:
    cases = questions(limit)
    app = measure(data, "auto", cases, rounds, corpus)
    torch = measure(data, "torch", cases, rounds, corpus)
    return write_result("ask_latency", {"app": app, "torch_model": torch}, out)


if __name__ == "__main__":
    import json

    with indexed() as data:
        print(json.dumps(main(data), indent=2))
