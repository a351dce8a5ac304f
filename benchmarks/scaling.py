"""Retrieval latency, build time, index size and memory at 1k, 10k and 100k chunks, dense / BM25 / hybrid.

The synthetic corpus is built from the real sentences of the shipped corpus: each synthetic chunk is 2 to 5
consecutive sentences of one article or policy, filed under one of many synthetic documents. Every real sentence
is embedded once with the model (cached in benchmarks/.cache); a chunk's vector is the normalised mean of its
sentences' vectors, because embedding 100,000 passages with the model would take hours on this machine and the
retrieval code does not care how a vector was made. Questions are the golden questions, embedded for real at
query time (through the ONNX export, as the app does).

Each size is built in one process (the passages in Chroma, their documents in the manifest) and served from a
second, fresh one, which opens the index as the app does on its first question: with no saved corpus index yet,
it reads every passage back from Chroma, builds BM25 and saves both (``open_rebuild_s``). A third fresh process
then opens the same index from the saved copy (``open_saved_s``), as every later process does. Each peak memory
figure is its own process's. Only the passage collection is written: the per-sentence vectors the answerer
reads are fetched by id and take no part in retrieval.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import CACHE, ROOT, dir_size_mb, own_peak_rss_mb, questions, summary_ms, write_result

SIZES = (1_000, 10_000, 100_000)
MODES = ("dense", "bm25", "hybrid")
SEED = 7


def sentence_pool() -> list[tuple[str, str, tuple[str, ...], str]]:
    """(doc_id, title, section, sentence) for every sentence or list item of the shipped corpus, in order."""
    from assistant.config import Settings
    from assistant.ingest.chunking import Chunker
    from assistant.ingest.readers import discover, load, read_bytes
    from assistant.search.embeddings import Embedder

    settings = Settings()
    chunker = Chunker(Embedder("").count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)
    pool, seen = [], set()
    for source in discover([settings.corpus_dir], settings.corpus_dir):
        doc = load(source, read_bytes(source, settings.max_file_bytes))
        for chunk in chunker.split(doc):
            for unit in chunk.units:
                text = chunk.unit_text(unit)
                if text not in seen:
                    seen.add(text)
                    pool.append((doc.doc_id, doc.title, chunk.section, text))
    return pool


def sentence_vectors(pool: list[tuple[str, str, tuple[str, ...], str]], cache: Path) -> np.ndarray:
    """The model's vector for every pool sentence, computed once and cached by content (with the ONNX export
    of the model, which the measuring processes use for questions); the key includes the model's name."""
    from assistant.search.bundled_model import MODEL_NAME

    key = hashlib.sha256("\n".join([MODEL_NAME, *(s for *_, s in pool)]).encode()).hexdigest()[:16]
    path = cache / f"sentences-{key}.npy"
    if path.exists():
        return np.asarray(np.load(path), dtype=np.float32)
    from assistant.search.embeddings import Embedder

    embedder = Embedder("", cache / "models")
    vectors = embedder.encode([s for *_, s in pool])
    embedder.prepare_query_encoder()
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def synthetic_chunks(size: int, pool: list[Any], vectors: np.ndarray) -> tuple[list[Any], np.ndarray]:
    from assistant.ingest.chunking import chunk_id
    from assistant.types import Chunk, Unit

    rng = np.random.default_rng(SEED)
    chunks, out = [], np.zeros((size, vectors.shape[1]), dtype=np.float32)
    for i in range(size):
        start = int(rng.integers(0, len(pool) - 1))
        length = int(rng.integers(2, 6))
        # consecutive sentences of one source document
        picked = [start]
        while (
            len(picked) < length and picked[-1] + 1 < len(pool) and pool[picked[-1] + 1][0] == pool[start][0]
        ):
            picked.append(picked[-1] + 1)
        texts = [pool[j][3] for j in picked]
        text = " ".join(texts)
        units, offset = [], 0
        for t in texts:
            units.append(Unit(offset, offset + len(t), False))
            offset += len(t) + 1
        source_doc, title, section, _ = pool[start]
        doc_number = i // 20
        doc_id = f"synthetic/{doc_number:05d}-{Path(source_doc).stem}.md"
        chunks.append(
            Chunk(
                chunk_id=chunk_id(doc_id, i, text),
                doc_id=doc_id,
                title=f"{title} ({doc_number})",
                kind="article" if source_doc.startswith("sources/") else "policy",
                source_path=doc_id,
                section=section,
                text=text,
                start=i,
                end=i + len(text),
                ordinal=i % 20,
                units=tuple(units),
            )
        )
        mean = vectors[picked].mean(axis=0)
        out[i] = mean / np.linalg.norm(mean)
    return chunks, out


def build(size: int, folder: Path, cache: Path) -> dict[str, Any]:
    """In this process: write ``size`` synthetic chunks into a Chroma database in ``folder``."""
    from assistant.search.bundled_model import MODEL_NAME
    from assistant.search.chroma import ChromaStore

    pool = sentence_pool()
    chunks, vectors = synthetic_chunks(size, pool, sentence_vectors(pool, cache))
    settings = _settings(folder)
    store = ChromaStore(settings, MODEL_NAME)
    started = time.perf_counter()
    batch = 2000
    for lo in range(0, size, batch):
        part = chunks[lo : lo + batch]
        # passages only: the retrieval benchmark reads no sentence vectors
        store.add(part, vectors[lo : lo + batch], [np.zeros((0, vectors.shape[1]))] * len(part))
    chroma_build_s = time.perf_counter() - started
    _record_documents(settings, chunks)
    return {
        "chroma_build_s": round(chroma_build_s, 1),
        "index_mb": dir_size_mb(settings.chroma_dir),
        "build_peak_rss_mb": own_peak_rss_mb(),
    }


def _record_documents(settings: Any, chunks: list[Any]) -> None:
    """The manifest rows of the synthetic documents: what the app reads to know the committed passages."""
    from assistant.ingest.manifest import DocumentRecord, Manifest

    by_doc: dict[str, list[Any]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    manifest = Manifest(settings.manifest_path)
    for doc_id, parts in by_doc.items():
        ids = tuple(c.chunk_id for c in parts)
        manifest.put(DocumentRecord(doc_id, parts[0].title, parts[0].kind, doc_id, doc_id, ids, time.time()))
    manifest.bump_generation()


def open_index(folder: Path, cache: Path) -> tuple[Any, float]:
    """The corpus index of ``folder`` as the app opens it (saved copy if there is one), and the seconds it took
    (from the committed ids in the manifest to the index ready; the vector store is already open)."""
    from assistant.ingest.manifest import Manifest
    from assistant.search.bundled_model import MODEL_NAME
    from assistant.search.chroma import ChromaStore
    from assistant.search.corpus_index import CorpusIndexes
    from assistant.search.glossary import Glossary

    settings = _settings(folder)
    store = ChromaStore(settings, MODEL_NAME)
    store.count()  # the store is open before the first question (the app checks it has an index)
    manifest = Manifest(settings.manifest_path)
    started = time.perf_counter()
    indexes = CorpusIndexes(
        store, Glossary.load(), committed=manifest.committed_ids, saved=settings.corpus_index_dir
    )
    index = indexes.get(manifest.generation)
    return index, time.perf_counter() - started


def reopen(folder: Path, cache: Path) -> dict[str, Any]:
    """In a fresh process: open the index from its saved copy (made by :func:`serve`)."""
    index, seconds = open_index(folder, cache)
    started = time.perf_counter()
    index.mentions("credentialing")  # the sources' own words: saved too, so no first-question cost
    return {
        "open_saved_s": round(seconds, 2),
        "first_mention_s": round(time.perf_counter() - started, 3),
        "saved_index_mb": dir_size_mb(_settings(folder).corpus_index_dir),
        "reopen_peak_rss_mb": own_peak_rss_mb(),
    }


def serve(folder: Path, n_questions: int, cache: Path) -> dict[str, Any]:
    """In a fresh process, as the app would: open the index (no saved copy yet: read every passage from Chroma,
    build BM25, save them), then time retrieval."""
    from assistant.answer.query import QueryAnalyzer
    from assistant.search.chroma import ChromaStore
    from assistant.search.embeddings import Embedder
    from assistant.search.glossary import Glossary
    from assistant.search.retrieval import HybridRetriever

    embedder = Embedder("", cache / "models")
    settings = _settings(folder)
    store = ChromaStore(settings, embedder.name)
    glossary = Glossary.load()
    retriever = HybridRetriever(settings.retrieval, embedder, store)
    analyzer = QueryAnalyzer(glossary)
    index, open_s = open_index(folder, cache)
    cases = questions(n_questions)
    retriever.retrieve(analyzer.analyze(cases[0]["question"], index), index)  # warm-up
    latency: dict[str, Any] = {}
    for mode in MODES:
        times = []
        for case in cases:
            t0 = time.perf_counter()
            query = analyzer.analyze(case["question"], index)
            retriever.retrieve(query, index, mode=mode)  # type: ignore[arg-type]
            times.append((time.perf_counter() - t0) * 1000)
        latency[mode] = summary_ms(times)
    embed = []
    for case in cases:
        t0 = time.perf_counter()
        embedder.encode_query(case["question"])
        embed.append((time.perf_counter() - t0) * 1000)
    return {
        "open_rebuild_s": round(open_s, 1),
        "latency": latency,
        "query_embedding": summary_ms(embed),
        "query_encoder": embedder.query_encoder_name,
        "serve_peak_rss_mb": own_peak_rss_mb(),
    }


def _settings(folder: Path) -> Any:
    from assistant.config import Settings

    return Settings(data_dir=folder, corpus_dir=folder / "corpus")


def _child(*args: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if run.returncode != 0:
        raise SystemExit(f"scaling {' '.join(args)} failed:\n{run.stderr[-4000:]}")
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def main(
    sizes: tuple[int, ...] = SIZES, n_questions: int = 100, cache: Path = CACHE, out: Path | None = None
) -> dict[str, Any]:
    sentence_vectors(sentence_pool(), cache)  # once, in this process, so the measuring processes only load it
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix=f"cmo-bench-scale-{size}-") as tmp:
            built = _child("--build", str(size), "--dir", tmp, "--cache", str(cache))
            served = _child("--serve", tmp, "--questions", str(n_questions), "--cache", str(cache))
            reopened = _child("--reopen", tmp, "--cache", str(cache))
        rows.append({"chunks": size, **built, **served, **reopened})
    growth = {}
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        factor = last["chunks"] / first["chunks"]
        growth = {
            mode: round(last["latency"][mode]["p50_ms"] / max(first["latency"][mode]["p50_ms"], 0.1), 2)
            for mode in MODES
        }
        growth["chunks_factor"] = factor
    return write_result("scaling", {"sizes": rows, "p50_growth": growth}, out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reopen", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(build(args.build, args.dir, args.cache)))
    elif args.serve:
        print(json.dumps(serve(args.serve, args.questions, args.cache)))
    elif args.reopen:
        print(json.dumps(reopen(args.reopen, args.cache)))
    else:
        result = main(tuple(int(s) for s in args.sizes.split(",")), args.questions, args.cache)
        print(json.dumps(result, indent=2))
