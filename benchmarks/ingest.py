"""Ingest benchmark: full ingest and no-op re-ingest of the shipped corpus, as a user runs them (the CLI).

Start-up (interpreter + imports + opening the index) is measured separately with `cmo-assistant stats`, so the
no-op figure can be read as "beyond start-up". Writes benchmarks/results/ingest.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import write_result


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if out.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return elapsed, out.stdout.strip()


def _rebuild_with_model_loaded(data: Path, corpus: Path | None) -> tuple[float, int]:
    """`ingest --rebuild` in this process after the model is loaded: the ingest work alone (read, chunk, embed
    passages and their sentences, write), without process start-up or model load. Returns seconds and the
    number of sentence vectors written."""
    from _common import settings_for

    from assistant import Assistant

    assistant = Assistant(settings_for(data, corpus))
    assistant.embedder.encode(["warm-up"])
    started = time.perf_counter()
    assistant.ingest(rebuild=True)
    elapsed = time.perf_counter() - started
    # one sentence vector per unit of every committed passage
    return elapsed, sum(len(c.units) for c in assistant.corpus_index().by_id.values())


def chunking_seconds_per_mb() -> dict[str, dict[str, float]]:
    """Seconds to chunk one line of 256 KB and of 1 MB (words with no sentence break; a heading of spaces): a
    linear cutter takes about 4x as long for 4x the text, a quadratic one 16x."""
    from assistant.ingest.chunking import Chunker
    from assistant.search.embeddings import Embedder
    from assistant.types import Document

    embedder = Embedder("")
    shapes: dict[str, Callable[[int], str]] = {
        "words_no_sentence_break": lambda n: ("policy leave badge visitor " * (n // 27 + 1))[:n],
        "heading_of_spaces": lambda n: "# a" + " " * n + "b\n\nBody text.",
    }
    figures: dict[str, dict[str, float]] = {}
    for name, make in shapes.items():
        seconds = {}
        for size in (64 * 1024, 256 * 1024, 1024 * 1024):
            doc = Document("long.md", "Long", "policy", "long.md", make(size), "x")
            started = time.perf_counter()
            Chunker(embedder.count_tokens, 160, 32).split(doc)
            seconds[size] = time.perf_counter() - started
        figures[name] = {
            "s_256kb": round(seconds[256 * 1024], 3),
            "s_1mb": round(seconds[1024 * 1024], 3),
            "growth_4x_text": round(seconds[1024 * 1024] / seconds[256 * 1024], 1),
        }
    return figures


def main(corpus: Path | None = None, repeats: int = 3, out: Path | None = None) -> dict[str, object]:
    data = Path(tempfile.mkdtemp(prefix="cmo-bench-ingest-"))
    env = {**os.environ, "CMO_ASSISTANT_DATA_DIR": str(data)}
    if corpus is not None:
        env["CMO_ASSISTANT_CORPUS_DIR"] = str(corpus)
    cli = [sys.executable, "-m", "assistant"]
    try:
        full, summary = timed([*cli, "ingest", "--quiet"], env)
        noop = [timed([*cli, "ingest", "--quiet"], env)[0] for _ in range(repeats)]
        startup = [timed([*cli, "stats"], env)[0] for _ in range(repeats)]
        chunks = json.loads(
            subprocess.run(
                [*cli, "stats", "--json"], env=env, capture_output=True, text=True, check=True
            ).stdout
        )["chunks"]
        rebuild_s, sentences = _rebuild_with_model_loaded(data, corpus)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    result = {
        "chunks": chunks,
        "full_ingest_s": round(full, 2),
        "chunks_per_s": round(chunks / full, 1),
        "rebuild_model_loaded_s": round(rebuild_s, 2),
        "sentence_vectors": sentences,
        "chunks_per_s_model_loaded": round(chunks / rebuild_s, 1),
        "noop_reingest_s": round(min(noop), 2),
        "startup_s": round(min(startup), 2),
        "noop_beyond_startup_s": round(min(noop) - min(startup), 2),
        "summary": summary.splitlines()[0],
        "chunking_one_line": chunking_seconds_per_mb(),
    }
    return write_result("ingest", result, out)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
