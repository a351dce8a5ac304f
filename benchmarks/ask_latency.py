"""Warm `ask` latency on the shipped corpus, split into embed / retrieve / compose, against the embedding floor.

Every golden question is asked once, in order, after one warm-up question (so caches hold only what earlier,
different questions left), as the app asks it: a process that has an index and never loaded torch, so
questions go through the ONNX export. Then again with the torch model, for comparison.

The floor is what embedding the question costs at the least: the index's ONNX export run by a bare onnxruntime
session, with the model's fast tokenizer (tokenizer.json) and mean pooling, written here and independent of the
product code. It is measured in the same process and run, with one and with two intra-op threads (the faster p50
is the floor), in alternating phases: every question through the bare sessions, then every question asked, three
times over. Alternating per question instead put three sessions' weights through the CPU caches in turn and let
one session's spinning threads slow the next; each side then measured slower than it runs alone (the ask by up
to 2 ms). Writes benchmarks/results/ask_latency.json.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import indexed, percentile, questions, settings_for, write_result

from assistant.search.bundled_model import bundled_model_path


def bare_encoder(models: Path, threads: int) -> Callable[[str], np.ndarray]:
    """The model's ONNX export (written by the ingest into ``models``, the settings' ``models_dir``) run by a
    bare onnxruntime session."""
    import onnxruntime
    from tokenizers import Tokenizer

    info = json.loads((models / "query-encoder.json").read_text("utf-8"))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(
        str(models / info["onnx_file"]), options, providers=["CPUExecutionProvider"]
    )
    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(info["max_seq_length"])
    tokenizer.no_padding()  # the file asks for padding to 128 tokens: ten times the work for a question

    def encode(text: str) -> np.ndarray:
        encoding = tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {name: feed[name] for name in info["input_names"]})[0][0]
        pooled = hidden.mean(axis=0)
        return np.asarray(pooled / np.linalg.norm(pooled), dtype=np.float32)

    return encode


def measure(
    data: Path, encoder: str, cases: list[dict[str, Any]], rounds: int, corpus: Path | None
) -> dict[str, Any]:
    from assistant import Assistant

    assistant = Assistant(settings_for(data, corpus, query_encoder=encoder))
    assistant.ask("What does a CMO do?")  # warm-up: encoder, BM25 index, answerer
    floors: dict[str, Callable[[str], np.ndarray]] = (
        {f"{n} thread{'s' * (n > 1)}": bare_encoder(assistant.settings.models_dir, n) for n in (2, 1)}
        if encoder == "auto"
        else {"model": assistant.embedder.encode_query}  # torch: the model's own encode is its floor
    )
    for encode in floors.values():
        encode("What does a CMO do?")
    floor_ms: dict[str, list[float]] = {name: [] for name in floors}
    stages: dict[str, list[float]] = {"embed": [], "search": [], "compose": [], "total": []}
    for _ in range(rounds):
        for name, encode in floors.items():
            for case in cases:
                started = time.perf_counter()
                encode(case["question"])
                floor_ms[name].append((time.perf_counter() - started) * 1000)
        for case in cases:
            t = assistant.ask(case["question"], history=case["history"]).timings_ms
            stages["embed"].append(t["embed"])
            stages["search"].append(t["retrieve"] - t["embed"])
            stages["compose"].append(t["generate"])
            stages["total"].append(t["total"])
    p50 = {k: statistics.median(v) for k, v in stages.items()}
    floor_p50 = {name: statistics.median(v) for name, v in floor_ms.items()}
    floor_name = min(floor_p50, key=floor_p50.__getitem__)
    return {
        "query_encoder": assistant.embedder.query_encoder_name,
        "questions": len(stages["total"]),
        "total_p50_ms": round(p50["total"], 2),
        "total_p95_ms": round(percentile(stages["total"], 0.95), 2),
        "embed_p50_ms": round(p50["embed"], 2),
        "retrieve_p50_ms": round(p50["search"], 2),
        "compose_p50_ms": round(p50["compose"], 2),
        "floor": "bare onnxruntime session" if encoder == "auto" else "the torch model's encode",
        "floor_p50_ms": round(floor_p50[floor_name], 2),
        "floor_threads": floor_name,
        "floor_p50_ms_by_threads": {name: round(v, 2) for name, v in floor_p50.items()},
        "p50_over_floor": round(p50["total"] / floor_p50[floor_name], 2),
    }


def main(
    data: Path, corpus: Path | None = None, rounds: int = 3, limit: int | None = None, out: Path | None = None
) -> dict[str, Any]:
    cases = questions(limit)
    app = measure(data, "auto", cases, rounds, corpus)
    torch = measure(data, "torch", cases, rounds, corpus)
    return write_result("ask_latency", {"app": app, "torch_model": torch}, out)


if __name__ == "__main__":
    with indexed() as data:
        print(json.dumps(main(data), indent=2))
