"""Warm `ask` latency on the shipped corpus: every golden question, after one warm-up, p50 and p95 by stage.

Writes benchmarks/results/ask_latency.json. The bare query-embedding time is measured in the same run, as the
floor the whole answer is compared against.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(rounds: int = 3, limit: int | None = None) -> dict[str, object]:
    from assistant import Assistant, Settings

    data = Path(os.environ.get("CMO_BENCH_DATA_DIR") or tempfile.mkdtemp(prefix="cmo-bench-ask-"))
    assistant = Assistant(Settings.from_env(data_dir=data))
    assistant.ensure_index()
    golden = ROOT / "evals" / "golden.jsonl"
    cases = [json.loads(line) for line in golden.read_text("utf-8").splitlines() if line.strip()][:limit]
    assistant.ask("What does a CMO do?")  # warm-up: model, BM25 index, answerer
    totals, retrieve, generate, floor = [], [], [], []
    for _ in range(rounds):
        for case in cases:
            started = time.perf_counter()
            assistant.embedder.encode_query(case["question"])
            floor.append((time.perf_counter() - started) * 1000)
            answer = assistant.ask(case["question"], history=case["history"])
            totals.append(answer.timings_ms["total"])
            retrieve.append(answer.timings_ms["retrieve"])
            generate.append(answer.timings_ms["generate"])
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "questions": len(cases) * rounds,
        "total_p50_ms": round(statistics.median(totals), 1),
        "total_p95_ms": round(percentile(totals, 0.95), 1),
        "retrieve_p50_ms": round(statistics.median(retrieve), 1),
        "generate_p50_ms": round(statistics.median(generate), 1),
        "query_embedding_p50_ms": round(statistics.median(floor), 1),
        "p50_over_embedding_floor": round(statistics.median(totals) / statistics.median(floor), 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ask_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
