"""The plain baseline: the same chunks and model behind LangChain's `Chroma.similarity_search`, k = 5.

Measured in one process against the assistant's own retrieval (both embed questions with the torch model here):
retrieval latency per golden question, and the eval metrics twice, once with the assistant's hybrid retrieval and
once with the baseline's passages fed to the same extractive answerer. Writes benchmarks/results/baseline.json.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from _common import indexed, questions, settings_for, summary_ms, write_result
from langchain_core.embeddings import Embeddings

REPORTED = (
    "hit@5",
    "recall@5",
    "mrr",
    "ndcg@5",
    "citation_precision",
    "citation_recall",
    "faithfulness",
    "key_fact_coverage",
    "refusal_rate",
    "false_refusal_rate",
)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class EmbedderAdapter(Embeddings):
    """The assistant's embedder as LangChain ``Embeddings`` (the same model, the same normalisation)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder.encode(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.embedder.encode_query(text)))


class LangChainRetriever:
    """The retriever stage of the pipeline replaced by LangChain's top-k by cosine, nothing else."""

    def __init__(self, store: Any, chunks: dict[str, Any], embedder: Any) -> None:
        self.store = store
        self.chunks = chunks
        self.embedder = embedder

    def retrieve(self, query: Any, index: Any, top_k: int | None = None, mode: str = "hybrid") -> Any:
        from assistant.types import Retrieval, ScoredChunk

        found = self.store.similarity_search_with_score(query.standalone, k=top_k or 5)
        passages = tuple(
            ScoredChunk(self.chunks[doc.id], 1.0 - float(distance), rank, None)
            for rank, (doc, distance) in enumerate(found, start=1)
        )
        return Retrieval(query, self.embedder.encode_query(query.standalone), passages)


def main(
    data: Path, corpus: Path | None = None, limit: int | None = None, out: Path | None = None
) -> dict[str, Any]:
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    from assistant import Assistant
    from assistant.evaluation.dataset import load_cases
    from assistant.evaluation.gate import load_thresholds, support_threshold
    from assistant.evaluation.metrics import SupportJudge
    from assistant.evaluation.runner import aggregate, run_cases

    cases = load_cases()[:limit] if limit else load_cases()
    with tempfile.TemporaryDirectory(prefix="cmo-bench-langchain-") as tmp:
        assistant = Assistant(settings_for(data, corpus, query_encoder="torch"))
        chunks = {c.chunk_id: c for c in assistant.store.all_chunks()}
        started = time.perf_counter()
        baseline = Chroma(
            collection_name="langchain_baseline",
            embedding_function=EmbedderAdapter(assistant.embedder),
            persist_directory=tmp,
            client_settings=ChromaSettings(anonymized_telemetry=False),
            collection_metadata={"hnsw:space": "cosine"},
        )
        ids = list(chunks)
        baseline.add_texts(
            [chunks[i].text for i in ids], [{"doc_id": chunks[i].doc_id} for i in ids], ids=ids
        )
        build_s = time.perf_counter() - started

        texts = [q["question"] for q in questions(limit)]
        assistant.ask(texts[0])  # warm-up
        baseline.similarity_search(texts[0], k=5)
        timings: dict[str, list[float]] = {"baseline": [], "hybrid": [], "floor": []}
        for text in texts:
            t0 = time.perf_counter()
            assistant.embedder.encode_query(text)
            t1 = time.perf_counter()
            baseline.similarity_search(text, k=5)
            t2 = time.perf_counter()
            assistant.retrieve(text, top_k=5)
            t3 = time.perf_counter()
            timings["floor"].append((t1 - t0) * 1000)
            timings["baseline"].append((t2 - t1) * 1000)
            timings["hybrid"].append((t3 - t2) * 1000)

        judge = SupportJudge(assistant.embedder.encode, support_threshold(load_thresholds(None)))
        ours = aggregate(run_cases(assistant, cases, judge))
        plain = Assistant.build(
            assistant.settings,
            embedder=assistant.embedder,
            retriever=LangChainRetriever(baseline, chunks, assistant.embedder),
        )
        theirs = aggregate(run_cases(plain, cases, judge))
    return write_result(
        "baseline",
        {
            "cases": len(cases),
            "baseline_build_s": round(build_s, 1),
            "retrieval_latency": {name: summary_ms(values) for name, values in timings.items()},
            "metrics": {
                # every metric for both; None where no case applies (faithfulness when nothing was answered)
                "langchain_similarity_search": {k: _rounded(theirs.get(k)) for k in REPORTED},
                "assistant_hybrid": {k: _rounded(ours.get(k)) for k in REPORTED},
            },
        },
        out,
    )


if __name__ == "__main__":
    import json

    with indexed() as data:
        print(json.dumps(main(data), indent=2))
