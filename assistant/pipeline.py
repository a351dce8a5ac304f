"""The Assistant: holds its stages (given to it, or built by :func:`~assistant.factory.build_stages`) and runs a
question through them.

    question -> clean -> Query (analysed once, against the corpus index of the current generation)
             -> Retriever -> Reranker -> Answerer -> citations verified -> Answer

The CLI and the web app are thin adapters over it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer.citations import renumber
from assistant.answer.closest import closest_passages
from assistant.answer.conversation import is_followup, parse_history
from assistant.answer.protocols import Answerer, AnswerRequest, Composition
from assistant.answer.query import clean_question, unreadable_removed
from assistant.config import Settings
from assistant.errors import IndexMissingError, QuestionError, StoreError
from assistant.factory import Stages, build_stages
from assistant.ingest.catalog import document_text, index_stats, read_document
from assistant.ingest.indexing import IngestReport
from assistant.ingest.lock import writer_lock
from assistant.ingest.manifest import Manifest
from assistant.ingest.uploads import UploadFolder
from assistant.ingest.verification import Verification, verify_index
from assistant.search.corpus_index import CorpusIndex, CorpusIndexes, best_unit_scores
from assistant.search.embeddings import Embedder, offline_environment
from assistant.search.protocols import Mode, VectorStore
from assistant.types import Answer, ClosestPassage, Document, Filters, Query, Retrieval, Turn

History = Sequence[dict[str, str] | Turn] | None


def verified(composition: Composition) -> Composition:
    """Enforce the citation contract on any answerer's output: every marker has a passage, every passage is
    cited, markers are numbered by first appearance. Markers without a passage are removed; uncited passages
    are dropped; the rest is renumbered. An answer left with no citation is not an answer."""
    if not composition.answered:
        return composition
    by_marker = {c.marker: c for c in composition.citations}
    fixed = renumber(composition.text, list(by_marker))
    citations = tuple(dataclasses.replace(by_marker[old], marker=new) for new, old in fixed.mapping.items())
    notices = composition.notices
    if fixed.dropped:
        notices = (
            *notices,
            f"Removed citation markers that pointed at no passage: {sorted(set(fixed.dropped))}.",
        )
    if not citations:
        return dataclasses.replace(
            composition, answered=False, citations=(), notices=(*notices, "The answer cited no passage.")
        )
    return dataclasses.replace(composition, text=fixed.text, citations=citations, notices=notices)


@dataclass(frozen=True)
class _Prepared:
    """A question made ready for the answerer: analysed, retrieved, reranked; timings started."""

    request: AnswerRequest
    retrieval: Retrieval
    notices: tuple[str, ...]
    started: float
    retrieved: float


class Assistant:
    """Answers questions from the indexed sources with cited passages.

    Cheap to construct: the embedding model, the vector store and the BM25 index load on first use.
    """

    def __init__(self, settings: Settings | None = None, stages: Stages | None = None) -> None:
        offline_environment()
        self.settings = settings or Settings.from_env()
        self.stages = stages or build_stages(self.settings)
        self.uploads = UploadFolder(self.settings, self.stages.manifest)
        self._indexes = CorpusIndexes(
            self.stages.store,
            self.stages.glossary,
            committed=self.stages.manifest.committed_ids,
            saved=self.settings.corpus_index_dir,
            model=self.stages.embedder.name,
        )
        self._ingest_lock = threading.RLock()
        self._store_checked: str | None = None  # the index generation whose vector store was seen to exist
        self._store_generation: str | None = None  # the index generation the open vector store was used at

    @classmethod
    def build(cls, settings: Settings | None = None, **stages: Any) -> Assistant:
        """An Assistant whose named stages are the given objects, the rest built from ``settings``
        (see :func:`~assistant.factory.build_stages`), e.g. ``Assistant.build(settings, reranker=MyReranker())``."""
        settings = settings or Settings.from_env()
        return cls(settings, build_stages(settings, **stages))

    @classmethod
    def from_env(cls, **overrides: Any) -> Assistant:
        """An Assistant configured from ``CMO_ASSISTANT_*`` environment variables, then ``overrides``."""
        return cls(Settings.from_env(**overrides))

    # -- the stages, by name ----------------------------------------------------------------------------------
    @property
    def store(self) -> VectorStore:
        return self.stages.store

    @property
    def manifest(self) -> Manifest:
        return self.stages.manifest

    @property
    def embedder(self) -> Embedder:
        return self.stages.embedder

    @property
    def answerer(self) -> Answerer:
        return self.stages.answerer

    def corpus_index(self) -> CorpusIndex:
        """The corpus index of the current index generation (built when the generation changed)."""
        return self._indexes.get(self.manifest.generation)

    # -- documents --------------------------------------------------------------------------------------------
    def ingest(
        self,
        sources: Sequence[Path] = (),
        rebuild: bool = False,
        progress: bool = False,
        forget: Sequence[Path] = (),
    ) -> IngestReport:
        """Bring the index in line with the source folders (see :class:`~assistant.ingest.indexing.Indexer`).

        :param sources: folders to add; remembered in the data dir and indexed by every later ingest.
        :param forget: remembered folders to stop indexing.
        """
        with self._writing():
            return self._ingest(sources, rebuild, progress, forget)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time in this process, and one per data dir across processes (the CLI and the app, or replicas sharing a database);
        questions are answered meanwhile."""
        with self._ingest_lock, writer_lock(self.settings.data_dir, self.settings.database_url):
            yield

    def _ingest(
        self, sources: Sequence[Path], rebuild: bool, progress: bool, forget: Sequence[Path]
    ) -> IngestReport:
        try:
            self.uploads.sync()  # with a database: what other replicas uploaded or removed, too
            report = self.stages.indexer.ingest(
                tuple(Path(s) for s in sources),
                rebuild=rebuild,
                progress=progress,
                forget=tuple(Path(f) for f in forget),
            )
        except StoreError:
            self._reopen_store()  # the next attempt (space freed, server back) starts from a fresh client
            raise
        if rebuild:
            # a rebuild may use another model: cached (and saved) vectors of the same text change
            self._indexes.forget(saved=True)
        self._store_generation = self.manifest.generation  # this process wrote it: its store is current
        return report

    def add_document(self, filename: str, data: bytes) -> IngestReport:
        """Save an uploaded document into the uploads folder and index it at once (incremental ingest).

        Checked, saved and indexed under the write lock: refused before anything is saved if another process
        writes; the same file uploaded twice at once is indexed by the first, and the second's report lists it
        as unchanged.
        """
        with self._writing():
            self.uploads.save(filename, data)
            return self._ingest((), False, False, ())

    def remove_document(self, doc_id: str) -> IngestReport:
        """Delete an uploaded document (only those: the corpus and configured folders are the user's files)."""
        with self._writing():
            self.uploads.remove(doc_id)
            return self._ingest((), False, False, ())

    def document_text(self, doc_id: str) -> tuple[str, str]:
        """Title and text of an indexed document, read through the manifest (never an arbitrary path)."""
        return document_text(self.settings, self.manifest, doc_id, self.uploads.original(doc_id))

    def document(self, doc_id: str) -> Document:
        """An indexed document to read: title, text and (a PDF's) pages, read through the manifest."""
        return read_document(self.settings, self.manifest, doc_id, self.uploads.original(doc_id))

    def stats(self) -> dict[str, Any]:
        """What is in the index: documents, chunks, kinds, model, last ingest."""
        return index_stats(self.settings, self.manifest, self.store, self.embedder.name)

    def verify(self) -> Verification:
        """Every stored vector (passages and sentence vectors) read back; what is missing or unreadable, by
        document (``cmo-assistant stats --verify``)."""
        return verify_index(self.manifest, self.store)

    def has_index(self) -> bool:
        """Whether something has been ingested (creates nothing when not)."""
        return self._manifest_may_exist() and self._indexed_generation() is not None

    def _manifest_may_exist(self) -> bool:
        return (
            bool(self.settings.chroma_url or self.settings.database_url)
            or self.settings.manifest_path.exists()
        )

    def _indexed_generation(self) -> str | None:
        """The current index generation when there is an index (the manifest read once), else None."""
        # The vector store and the document table are asked once per index generation, not on every question:
        # any change to the documents makes a new generation.
        generation = self.manifest.generation
        if generation and generation == self._store_checked:
            return generation
        if not self.manifest.has_documents():
            return None
        exists = self._answers_from_memory(generation) or self.store.exists()
        self._store_checked = generation if exists else None
        return generation if exists else None

    def _answers_from_memory(self, generation: str) -> bool:
        """Whether the index of ``generation`` is a saved one holding every vector, so a question needs nothing
        from the vector store (not even opening it). A store whose files are gone is asked all the same."""
        files_present = getattr(self.store, "files_present", None)
        if files_present is not None and not files_present():
            return False
        return self._indexes.self_contained(generation)

    def ensure_index(self, progress: bool = False) -> IngestReport | None:
        """Build the index when there is none yet, index uploads that were saved but never indexed (the app
        was killed in between), or bring an index made another way (an older version, other chunk sizes) up to
        date; returns the report, or None when there was nothing to do."""
        if self.has_index() and not self.uploads.unindexed() and not self.stages.indexer.made_otherwise():
            return None
        return self.ingest(progress=progress)

    # -- questions --------------------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: History = None,
        kind: str | None = None,
        top_k: int | None = None,
        mode: Mode = "hybrid",
        doc_id: str | None = None,
    ) -> Answer:
        """Answer ``question`` from the sources, citing passages with ``[n]`` markers.

        :param history: earlier turns, ``[{"role": "user"|"assistant", "content": "..."}]``, for follow-ups.
        :param kind: ``"article"`` or ``"policy"`` to search only one kind of document.
        :param doc_id: search only this document (an id from ``stats``, e.g. ``policies/ms-101-...md``).
        :raises QuestionError: the question is empty or the history malformed.
        :raises IndexMissingError: nothing has been ingested yet.
        """
        prepared = self._reopening(lambda: self._prepare(question, history, kind, top_k, mode, doc_id))
        return self._answer(prepared, self.answerer.answer(prepared.request))

    def ask_stream(
        self,
        question: str,
        history: History = None,
        kind: str | None = None,
        top_k: int | None = None,
        mode: Mode = "hybrid",
        doc_id: str | None = None,
    ) -> Iterator[str | Answer]:
        """Like :meth:`ask`, but yields the answer text as it is written, then the verified Answer (last).

        The streamed text is the draft; the final Answer is what counts (markers checked and renumbered).
        """
        prepared = self._reopening(lambda: self._prepare(question, history, kind, top_k, mode, doc_id))
        for item in self.answerer.stream(prepared.request):
            if isinstance(item, Composition):
                yield self._answer(prepared, item)
                return
            yield item

    def retrieve(
        self,
        question: str,
        history: History = None,
        kind: str | None = None,
        top_k: int | None = None,
        mode: Mode = "hybrid",
        doc_id: str | None = None,
    ) -> Retrieval:
        """Only the retrieval (and reranking) of :meth:`ask`: the passages an answer would be made from."""
        return self._prepare(question, history, kind, top_k, mode, doc_id).retrieval

    def request(
        self, question: str, history: History = None, kind: str | None = None, doc_id: str | None = None
    ) -> AnswerRequest:
        """The AnswerRequest the answerer would get for ``question`` (for calibration and debugging)."""
        return self._prepare(question, history, kind, None, "hybrid", doc_id).request

    def _reopening(self, prepare: Callable[[], _Prepared]) -> _Prepared:
        """``prepare()``, with the vector store opened afresh first when another process changed the index
        (a rebuild, a deleted store folder made again), and once more after a store error: an embedded
        database keeps the files it opened, so without this a rebuilt index was only seen after a restart."""
        generation = self.manifest.generation
        if self._store_generation is not None and generation != self._store_generation:
            self._reopen_store()
        self._store_generation = generation
        try:
            return prepare()
        except (StoreError, IndexMissingError) as exc:
            nothing_ingested = isinstance(exc, IndexMissingError) and not (
                self.settings.manifest_path.exists() and self.manifest.has_documents()
            )
            if nothing_ingested or not self._reopen_store():
                raise
        return prepare()

    def _reopen_store(self) -> bool:
        reopen = getattr(self.store, "reopen", None)
        if reopen is None:
            return False
        reopen()
        self._store_checked = None
        self._indexes.forget()
        return True

    def _prepare(
        self,
        question: str,
        history: History,
        kind: str | None,
        top_k: int | None,
        mode: Mode,
        doc_id: str | None,
    ) -> _Prepared:
        started = time.perf_counter()
        if kind not in (None, "", "article", "policy"):
            raise QuestionError(f"kind must be 'article' or 'policy'. Currently, it is {kind!r}.")
        text, notices = self._clean(question)
        turns = tuple(
            Turn(t.role, unreadable_removed(t.content))
            for t in parse_history(list(history) if history is not None else None)
        )
        generation = self._require_index()
        filters = self._filters(kind, doc_id)
        index = self._indexes.get(generation)
        query = self._analyze(text, turns, filters, index)
        retrieval = self.stages.retriever.retrieve(query, index, top_k=top_k, mode=mode)
        passages = self.stages.reranker.rerank(query, retrieval.passages)
        retrieval = dataclasses.replace(retrieval, passages=passages)
        request = AnswerRequest(
            query=query,
            passages=passages,
            query_vector=retrieval.query_vector,
            index=index,
            unit_vectors=index.unit_vectors([p.chunk for p in passages]),
        )
        return _Prepared(request, retrieval, notices, started, time.perf_counter())

    def _clean(self, question: str) -> tuple[str, tuple[str, ...]]:
        """The question cleaned, with the notices to show about it."""
        text, truncated = clean_question(question, self.settings.max_question_chars)
        notices: list[str] = []
        prompts = self.stages.prompts
        if unreadable_removed(question) != question:
            notices.append(prompts.phrase("question_unreadable"))
        if truncated:
            notices.append(
                prompts.phrase(
                    "question_truncated", length=len(question), limit=self.settings.max_question_chars
                )
            )
        return text, tuple(notices)

    def _require_index(self) -> str:
        """The current index generation; raises when there is no index."""
        generation = self._indexed_generation() if self._manifest_may_exist() else None
        if generation is not None:
            return generation
        if (
            self.settings.database_url or self.settings.manifest_path.exists()
        ) and self.manifest.has_documents():
            raise IndexMissingError(
                f"The index in {self.settings.data_dir} is incomplete: documents are recorded, but the vector "
                f"store ({self.settings.store_location}) holds no passages. Rebuild "
                "it with `cmo-assistant ingest --rebuild`."
            )
        raise IndexMissingError(
            f"There is no index in {self.settings.data_dir} yet. Build it with `cmo-assistant ingest` "
            "(or `make run`, which builds it first)."
        )

    def _filters(self, kind: str | None, doc_id: str | None) -> Filters:
        if doc_id and doc_id not in self.manifest.documents():
            raise QuestionError(
                f"No indexed document has the id {doc_id!r}. The ids are listed by `cmo-assistant stats --json`."
            )
        return Filters(kind or None, doc_id or None)

    def _analyze(self, text: str, turns: tuple[Turn, ...], filters: Filters, index: CorpusIndex) -> Query:
        answerer = self.answerer
        condensed = (
            answerer.condense(text, turns) if answerer.condenses and turns and is_followup(text) else None
        )
        return self.stages.analyzer.analyze(text, index, turns, filters, condensed)

    def _answer(self, prepared: _Prepared, composition: Composition) -> Answer:
        composition = verified(composition)
        done = time.perf_counter()
        request = prepared.request
        return Answer(
            question=request.question,
            answer=composition.text,
            answered=composition.answered,
            citations=composition.citations,
            timings_ms={
                "embed": prepared.retrieval.embed_ms,
                "retrieve": (prepared.retrieved - prepared.started) * 1000,
                "generate": (done - prepared.retrieved) * 1000,
                "total": (done - prepared.started) * 1000,
            },
            notices=(*prepared.notices, *composition.notices),
            standalone_question=request.standalone,
            retrieved=request.passages,
            closest=() if composition.answered else self._closest(request),
        )

    def _closest(self, request: AnswerRequest) -> tuple[ClosestPassage, ...]:
        """With a refusal, the sections nearest the question (none when it means another CMO: the chief
        marketing officer's question has no near section here)."""
        if self.stages.glossary.other_meaning_in(request.question) is not None:
            return ()
        # the passages' unit vectors came with the request: no second read from the index
        return closest_passages(
            request.passages, best_unit_scores(request.query_vector, request.unit_vectors)
        )
