"""The one place that picks implementations: Settings -> the Assistant's stages.

Every stage can be replaced by passing an object with the same methods (see the Protocols in
``search/protocols.py`` and ``answer/protocols.py``)::

    stages = build_stages(settings, reranker=MyReranker(), store=MyStore())
    assistant = Assistant(settings, stages)

Building is cheap: the embedding model, the vector store's client and the BM25 index load on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.prompts import Prompts
from assistant.answer.protocols import Answerer
from assistant.answer.query import QueryAnalyzer
from assistant.config import Settings
from assistant.ingest.indexing import Indexer
from assistant.ingest.manifest import Manifest
from assistant.search.chroma import ChromaStore
from assistant.search.embeddings import Embedder
from assistant.search.glossary import Glossary
from assistant.search.protocols import IdentityReranker, Reranker, Retriever, VectorStore
from assistant.search.retrieval import HybridRetriever


@dataclass(frozen=True)
class Stages:
    """The parts an Assistant is made of."""

    embedder: Embedder
    store: VectorStore
    manifest: Manifest
    glossary: Glossary
    prompts: Prompts
    analyzer: QueryAnalyzer
    retriever: Retriever
    reranker: Reranker
    answerer: Answerer
    indexer: Indexer


def build_stages(settings: Settings, **overrides: Any) -> Stages:
    """The default stages for ``settings``; any of them given by name in ``overrides`` is used instead (later
    stages are built on the given ones, so a custom ``store`` is also what the retriever and indexer use)."""
    unknown = set(overrides) - set(Stages.__dataclass_fields__)
    if unknown:
        raise TypeError(f"Unknown stage(s): {', '.join(sorted(unknown))}.")

    def pick(name: str, make: Any) -> Any:
        return overrides[name] if name in overrides else make()

    embedder: Embedder = pick(
        "embedder", lambda: Embedder(settings.embedding_model, settings.models_dir, settings.query_encoder)
    )
    store: VectorStore = pick("store", lambda: ChromaStore(settings, embedder.name))
    manifest: Manifest = pick("manifest", lambda: Manifest(settings.database_url or settings.manifest_path))
    glossary: Glossary = pick("glossary", Glossary.load)
    prompts: Prompts = pick("prompts", lambda: Prompts(settings.prompts_dir))
    analyzer: QueryAnalyzer = pick("analyzer", lambda: QueryAnalyzer(glossary))
    return Stages(
        embedder=embedder,
        store=store,
        manifest=manifest,
        glossary=glossary,
        prompts=prompts,
        analyzer=analyzer,
        retriever=pick("retriever", lambda: HybridRetriever(settings.retrieval, embedder, store)),
        reranker=pick("reranker", IdentityReranker),
        answerer=pick("answerer", lambda: default_answerer(settings, analyzer, prompts, embedder)),
        indexer=pick("indexer", lambda: Indexer(settings, embedder, store, manifest)),
    )


def default_answerer(
    settings: Settings, analyzer: QueryAnalyzer, prompts: Prompts, embedder: Embedder
) -> Answerer:
    """Extractive, or an LLM that falls back to extractive when its endpoint fails."""
    extractive = ExtractiveAnswerer(settings.answering, analyzer, prompts)
    if settings.llm == "extractive":
        return extractive
    from assistant.answer.llm import LLMAnswerer, chat_model

    return LLMAnswerer(settings, prompts, chat_model(settings), embedder.encode_queries, extractive)
