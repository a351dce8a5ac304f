"""The Assistant: settings -> components (built lazily) -> ``ask`` and ``ingest``.

This is the composition root of the library; the CLI and the UI are thin adapters over it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.answer import Answerer, AnswerRequest, Composition, ExtractiveAnswerer
from assistant.answer.citations import renumber
from assistant.answer.conversation import is_followup, parse_history, standalone
from assistant.answer.prompts import Prompts
from assistant.config import Settings
from assistant.errors import DocumentError, IndexMissingError, QuestionError, StoreError
from assistant.files import write_atomic
from assistant.ingest.indexing import Indexer, IngestReport
from assistant.ingest.manifest import Manifest
from assistant.ingest.readers import SUPPORTED_SUFFIXES, SourceFile, load, read_bytes
from assistant.search.chroma import ChromaStore
from assistant.search.embeddings import Embedder, offline_environment
from assistant.search.glossary import Glossary
from assistant.search.retrieval import HybridRetriever, Mode
from assistant.types import Answer, Turn

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
#: Lone surrogates: what Python makes of bytes that are not UTF-8 (command-line arguments, JSON escapes). No
#: tokenizer or HTTP client accepts them.
_UNREADABLE = re.compile(r"[\ud800-\udfff]")


def safe_filename(name: str) -> str:
    """The last path component of ``name``, NFC-normalised, with anything but letters, digits, ``.-_`` and
    spaces replaced; never hidden, never empty, at most 120 characters."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[: 120 - len(suffix) - 1] or "document"
    return f"{stem}{dot}{suffix}"


def clean_question(raw: str, limit: int) -> tuple[str, bool]:
    """Control characters removed, whitespace folded, cut to ``limit`` characters at a word boundary.

    :returns: the cleaned question and whether it was cut.
    :raises QuestionError: when nothing is left to ask.
    """
    text = " ".join(_CONTROL.sub(" ", unreadable_removed(raw).replace("\x00", "")).split())
    if not text and _UNREADABLE.search(raw):
        raise QuestionError(
            "The question is not readable text (bytes that are not UTF-8). Set your terminal to UTF-8 and ask "
            "again."
        )
    if not text:
        raise QuestionError("The question is empty. Type a question, for example: What does a CMO do?")
    if not re.search(r"\w", text):
        raise QuestionError(
            "The question has no words, only symbols. Type a question, for example: What does a CMO do?"
        )
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut), True


def unreadable_removed(text: str) -> str:
    """``text`` without lone surrogates (bytes that were not UTF-8)."""
    return _UNREADABLE.sub("", text)


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
    """A question made ready for an answerer: retrieval done, timings started."""

    request: AnswerRequest
    answerer: Answerer
    notices: tuple[str, ...]
    started: float
    retrieved: float
    embed_ms: float = 0.0


class Assistant:
    """Answers questions from the indexed sources with cited passages.

    Cheap to construct: the embedding model, the vector store and the BM25 index load on first use.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        offline_environment()
        self.settings = settings or Settings.from_env()
        self._lock = threading.Lock()
        self._answerer: tuple[str, Answerer] | None = None
        self._ingest_lock = threading.Lock()
        self._store_checked: str | None = None  # the index generation whose vector store was seen to exist

    @classmethod
    def from_env(cls, **overrides: Any) -> Assistant:
        """An Assistant configured from ``CMO_ASSISTANT_*`` environment variables, then ``overrides``."""
        return cls(Settings.from_env(**overrides))

    # -- components -----------------------------------------------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedding_model, self.settings.models_dir, self.settings.query_encoder)

    @cached_property
    def store(self) -> ChromaStore:
        return ChromaStore(self.settings, self.embedder.name)

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest(self.settings.manifest_path)

    @cached_property
    def glossary(self) -> Glossary:
        return Glossary.load()

    @cached_property
    def prompts(self) -> Prompts:
        return Prompts(self.settings.prompts_dir)

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.settings, self.embedder, self.store, self.glossary, self.manifest)

    @cached_property
    def indexer(self) -> Indexer:
        return Indexer(self.settings, self.embedder, self.store, self.manifest)

    def answerer(self) -> Answerer:
        """The configured answerer for the current index generation: extractive, or an LLM that falls back to
        extractive when its endpoint fails."""
        generation = self.manifest.generation
        with self._lock:
            if self._answerer is None or self._answerer[0] != generation:
                lexical = self.retriever.lexical(generation)
                answerer: Answerer = ExtractiveAnswerer(self.settings, lexical, self.glossary, self.prompts)
                if self.settings.llm != "extractive":
                    from assistant.answer.llm import LLMAnswerer, chat_model

                    answerer = LLMAnswerer(
                        self.settings,
                        self.prompts,
                        chat_model(self.settings),
                        self.embedder.encode_queries,
                        answerer,
                    )
                self._answerer = (generation, answerer)
            return self._answerer[1]

    # -- operations -----------------------------------------------------------------------------------------
    def ingest(
        self, sources: Sequence[Path] = (), rebuild: bool = False, progress: bool = False
    ) -> IngestReport:
        """Bring the index in line with the source folders (see :class:`~assistant.indexing.Indexer`)."""
        with self._ingest_lock:  # one ingest at a time; questions are answered meanwhile
            return self.indexer.ingest(tuple(Path(s) for s in sources), rebuild=rebuild, progress=progress)

    def add_document(self, filename: str, data: bytes) -> IngestReport:
        """Save an uploaded document into the uploads folder and index it at once (incremental ingest).

        :raises QuestionError: the name, type, size or content is not acceptable, or the same content is indexed
            already under another name (nothing is written then).
        """
        name = safe_filename(filename)
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise QuestionError(
                f"{name}: unsupported file type; upload one of {', '.join(SUPPORTED_SUFFIXES)}."
            )
        if len(data) > self.settings.max_file_bytes:
            raise QuestionError(
                f"{name} is {len(data) / 1048576:.1f} MB, above the {self.settings.max_file_mb:g} MB limit."
            )
        if not data.strip():
            raise QuestionError(f"{name} is empty.")
        folder = self.settings.uploads_dir
        # Read before saving: a file that cannot be indexed must not stay in the folder, failing every ingest.
        source = SourceFile(folder / name, folder, f"{folder.name}/{name}")
        try:
            load(source, data)
        except DocumentError as exc:
            raise QuestionError(f"{name}: {exc.reason}.") from None
        sha = hashlib.sha256(data).hexdigest()
        for record in self.manifest.documents().values():
            if record.sha256 == sha and record.doc_id != source.doc_id and Path(record.source_path).is_file():
                raise QuestionError(
                    f"{name} has the same content as {record.doc_id}, which is indexed already."
                )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / name, data)
        except OSError as exc:
            raise StoreError(
                f"{name} could not be saved in {folder} ({exc.strerror or exc}); nothing was added. Free some "
                "disk space and upload it again."
            ) from None
        return self.ingest()

    def remove_document(self, doc_id: str) -> IngestReport:
        """Delete an uploaded document (only those: the corpus and configured folders are the user's files)."""
        prefix = f"{self.settings.uploads_dir.name}/"
        path = (self.settings.uploads_dir / doc_id.removeprefix(prefix)).resolve()
        if (
            not doc_id.startswith(prefix)
            or path.parent != self.settings.uploads_dir.resolve()
            or not path.is_file()
        ):
            raise QuestionError(f"{doc_id} is not an uploaded document; only uploads can be removed here.")
        path.unlink()
        return self.ingest()

    def document_text(self, doc_id: str) -> tuple[str, str]:
        """Title and text of an indexed document, read through the manifest (never an arbitrary path)."""
        record = self.manifest.documents().get(doc_id)
        if record is None:
            raise QuestionError(f"No indexed document has the id {doc_id!r}.")
        source = SourceFile(Path(record.source_path), Path(record.source_path).parent, doc_id)
        try:
            doc = load(source, read_bytes(source, self.settings.max_file_bytes))
        except DocumentError as exc:
            raise QuestionError(f"{doc_id} cannot be shown: {exc.reason}.") from None
        return doc.title, doc.text

    def has_index(self) -> bool:
        """Whether something has been ingested (creates nothing when not)."""
        if not self.settings.chroma_url and not self.settings.manifest_path.exists():
            return False
        if not self.manifest.has_documents():
            return False
        # The vector store is asked once per index generation, not on every question.
        generation = self.manifest.generation
        if generation and generation == self._store_checked:
            return True
        exists = self.store.exists()
        self._store_checked = generation if exists else None
        return exists

    def ensure_index(self, progress: bool = False) -> IngestReport | None:
        """Build the index when there is none yet; returns the report, or None when one was there."""
        if self.has_index():
            return None
        return self.ingest(progress=progress)

    def ask(
        self,
        question: str,
        history: Sequence[dict[str, str] | Turn] | None = None,
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
        prepared = self._prepare(question, history, kind, top_k, mode, doc_id)
        return self._answer(prepared, prepared.answerer.answer(prepared.request))

    def ask_stream(
        self,
        question: str,
        history: Sequence[dict[str, str] | Turn] | None = None,
        kind: str | None = None,
    ) -> Iterator[str | Answer]:
        """Like :meth:`ask`, but yields the answer text as it is written, then the verified Answer (last).

        The streamed text is the model's draft; the final Answer is what counts (markers checked and renumbered).
        """
        prepared = self._prepare(question, history, kind, None, "hybrid", None)
        stream = getattr(prepared.answerer, "stream", None)
        if stream is None:
            answer = self._answer(prepared, prepared.answerer.answer(prepared.request))
            yield answer.answer
            yield answer
            return
        for item in stream(prepared.request):
            if isinstance(item, Composition):
                yield self._answer(prepared, item)
                return
            yield item

    def _prepare(
        self,
        question: str,
        history: Sequence[dict[str, str] | Turn] | None,
        kind: str | None,
        top_k: int | None,
        mode: Mode,
        doc_id: str | None,
    ) -> _Prepared:
        started = time.perf_counter()
        if kind not in (None, "", "article", "policy"):
            raise QuestionError(f"kind must be 'article' or 'policy'. Currently, it is {kind!r}.")
        text, truncated = clean_question(question, self.settings.max_question_chars)
        turns = tuple(
            Turn(t.role, unreadable_removed(t.content))
            for t in parse_history(list(history) if history is not None else None)
        )
        notices: list[str] = []
        if unreadable_removed(question) != question:
            notices.append(self.prompts.phrase("question_unreadable"))
        if truncated:
            notices.append(
                self.prompts.phrase(
                    "question_truncated", length=len(question), limit=self.settings.max_question_chars
                )
            )
        if not self.has_index():
            if self.settings.manifest_path.exists() and self.manifest.has_documents():
                raise IndexMissingError(
                    f"The index in {self.settings.data_dir} is incomplete: documents are recorded, but the vector "
                    f"store ({self.settings.chroma_url or self.settings.chroma_dir}) holds no passages. Rebuild "
                    "it with `cmo-assistant ingest --rebuild`."
                )
            raise IndexMissingError(
                f"There is no index in {self.settings.data_dir} yet. Build it with `cmo-assistant ingest` "
                "(or `make run`, which builds it first)."
            )
        if doc_id and doc_id not in self.manifest.documents():
            raise QuestionError(
                f"No indexed document has the id {doc_id!r}. The ids are listed by `cmo-assistant stats --json`."
            )
        answerer = self.answerer()
        condense = getattr(answerer, "condense", None)
        condensed = condense(text, turns) if condense is not None and turns and is_followup(text) else None
        query = condensed or standalone(text, turns)  # offline resolution when there is no model or it failed
        generation = self.manifest.generation
        retrieval = self.retriever.retrieve(
            query, top_k=top_k, kind=kind or None, doc_id=doc_id or None, mode=mode, generation=generation
        )
        request = AnswerRequest(
            question=text,
            standalone=query,
            passages=retrieval.passages,
            query_vector=retrieval.query_vector,
            history=turns,
            unit_vectors=self.store.unit_vectors([p.chunk for p in retrieval.passages]),
        )
        return _Prepared(request, answerer, tuple(notices), started, time.perf_counter(), retrieval.embed_ms)

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
                "embed": prepared.embed_ms,
                "retrieve": (prepared.retrieved - prepared.started) * 1000,
                "generate": (done - prepared.retrieved) * 1000,
                "total": (done - prepared.started) * 1000,
            },
            notices=(*prepared.notices, *composition.notices),
            standalone_question=request.standalone,
            retrieved=request.passages,
        )

    def stats(self) -> dict[str, Any]:
        """What is in the index: documents, chunks, kinds, model, last ingest."""
        docs = self.manifest.documents()
        kinds: dict[str, int] = {}
        for record in docs.values():
            kinds[record.kind] = kinds.get(record.kind, 0) + 1
        last = self.manifest.get_meta("last_ingest_at")
        return {
            "data_dir": str(self.settings.data_dir),
            "store": self.settings.chroma_url or str(self.settings.chroma_dir),
            "documents": len(docs),
            "chunks": self.store.count() if docs else 0,
            "kinds": kinds,
            "embedding_model": self.manifest.get_meta("embedding_model") or self.embedder.name,
            "last_ingest": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(last))) if last else None,
            "per_document": [
                {"doc_id": r.doc_id, "title": r.title, "kind": r.kind, "chunks": len(r.chunk_ids)}
                for r in docs.values()
            ],
        }
