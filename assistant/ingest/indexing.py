"""Ingest: files -> documents -> chunks -> vectors in the store, incremental, idempotent and crash-safe.

Chunk ids come from content, so the diff between what a file should produce and what the store holds is exact:
unchanged files cost nothing, a changed file gets exactly its new chunks embedded and its stale ones deleted,
a deleted file's chunks are removed. Writes go store first, manifest last; a run that dies in between leaves a
manifest that no longer matches, and the next run redoes that file and sweeps anything orphaned.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.errors import DocumentError
from assistant.ingest.chunking import Chunker
from assistant.ingest.isolation import IsolatedReader
from assistant.ingest.manifest import DocumentRecord, Manifest
from assistant.ingest.readers import SourceFile, discover, is_example, read_bytes
from assistant.ingest.sources import SourceList
from assistant.search.embeddings import Embedder
from assistant.search.protocols import VectorStore
from assistant.types import Chunk, Document

#: Bumped when what is stored for a passage changes, so every index is rebuilt: 3, list items are embedded after
#: their lead-in (:meth:`Chunk.unit_embedding_text`); 4, a nested list's items after the item they are nested
#: under, and the nesting of a .docx, PDF or HTML list kept.
CHUNKER_VERSION = "4"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: files whose content another file already provides (not a failure: each content is indexed once)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    repaired: bool = False
    seconds: float = 0.0

    @property
    def partial(self) -> bool:
        """Some files could not be ingested (the rest were)."""
        return bool(self.skipped)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.chunks_deleted or self.repaired)

    def summary(self) -> str:
        lines = [
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged; {self.chunks_embedded} chunks embedded, "
            f"{self.chunks_total} in the index; {self.seconds:.1f} s"
        ]
        if self.repaired:
            lines.append("The previous ingest had been interrupted: the index was checked and repaired.")
        lines += [f"removed {doc_id}" for doc_id in self.removed]
        lines += [f"skipped {path}: {reason}" for path, reason in (*self.skipped, *self.duplicates)]
        return "\n".join(lines)


Progress = Callable[[str], None]


class Indexer:
    def __init__(
        self, settings: Settings, embedder: Embedder, store: VectorStore, manifest: Manifest
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.manifest = manifest
        self.chunker = Chunker(embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)

    @property
    def signature(self) -> str:
        """Everything besides file content that decides what the chunks and vectors are."""
        s = self.settings
        return f"{self.embedder.name}|{s.chunk_tokens}|{s.chunk_overlap_tokens}|chunker-{CHUNKER_VERSION}"

    def made_otherwise(self) -> bool:
        """Whether the index was made another way than now (an older version, another chunk size): its passages
        and vectors are then brought up to date by the next ingest."""
        signed = self.manifest.get_meta("signature")
        return bool(signed) and signed != self.signature

    def ingest(
        self,
        extra_sources: tuple[Path, ...] = (),
        rebuild: bool = False,
        progress: bool = False,
        forget: tuple[Path, ...] = (),
    ) -> IngestReport:
        """Make the index mirror the source folders. Safe to run again at any time, including after a crash.

        :param extra_sources: folders to add; they are remembered (:class:`~assistant.ingest.sources.SourceList`)
            and indexed by every later ingest until forgotten.
        :param forget: remembered folders to stop indexing (their documents are removed).
        """
        started = time.perf_counter()
        report = IngestReport()
        remembered = SourceList(self.settings.data_dir).update(add=extra_sources, remove=forget)
        if rebuild:
            self.store.reset()
            self.manifest.clear()
        records = self.manifest.documents()
        interrupted = self.manifest.get_meta("in_progress") == "1"
        signed = self.manifest.get_meta("signature")
        same_settings = signed == self.signature
        self.manifest.set_meta(in_progress="1")

        if interrupted:
            # Before anything else: drop what a killed run left half-written, so the diff below redoes it.
            report.repaired = self._sweep(report)
        files, report.skipped, report.duplicates = self._scan(remembered, records)
        todo = self._todo(files, records, same_settings, report)
        if progress and todo:
            # One line before the bars, so a first run says what it is doing and for how much.
            what = "Building the index for" if not records else "Updating the index for"
            print(f"{what} {len(todo)} document{'s' * (len(todo) != 1)}...", file=sys.stderr, flush=True)
        # Stored vectors are reused unless they were made another way (no signature yet: a first build was
        # interrupted, and what it stored was made as now).
        reuse = same_settings or not signed
        self._write(self._chunked(todo, records, report), records, report, progress, reuse=reuse)

        failed = {path for path, _ in report.skipped}
        for doc_id, record in records.items():
            if doc_id not in files and record.source_path not in failed:
                self.store.delete_document(doc_id)
                self.manifest.delete(doc_id)
                report.removed.append(doc_id)
        report.chunks_total = self.store.count()
        if report.changed or rebuild:
            self.manifest.bump_generation()
        self.manifest.set_meta(
            in_progress="0",
            signature=self.signature,
            embedding_model=self.embedder.name,
            last_ingest_at=f"{time.time():.3f}",
        )
        if report.chunks_total:
            self.embedder.prepare_query_encoder()  # once per model: answering then needs no torch
        report.seconds = time.perf_counter() - started
        return report

    def _todo(
        self,
        files: dict[str, tuple[SourceFile, bytes]],
        records: dict[str, DocumentRecord],
        same_settings: bool,
        report: IngestReport,
    ) -> list[tuple[SourceFile, bytes]]:
        """The files to (re)index: new or changed ones, and unchanged ones whose chunks are not all in the
        store (store wiped, crash); the others are reported unchanged."""
        todo: list[tuple[SourceFile, bytes]] = []
        unchanged: list[DocumentRecord] = []
        for source, data in files.values():
            record = records.get(source.doc_id)
            sha = hashlib.sha256(data).hexdigest()
            if record and same_settings and record.sha256 == sha:
                unchanged.append(record)
            else:
                todo.append((source, data))
        present = self.store.present([cid for r in unchanged for cid in r.chunk_ids]) if unchanged else set()
        for record in unchanged:
            if set(record.chunk_ids) <= present:
                report.unchanged.append(record.doc_id)
            else:
                todo.append(files[record.doc_id])
        return todo

    def _chunked(
        self, todo: list[tuple[SourceFile, bytes]], records: dict[str, DocumentRecord], report: IngestReport
    ) -> list[tuple[Document, list[Chunk]]]:
        """Each file read (in a worker process, within time and memory limits) and chunked; one that cannot be
        read is reported by name and skipped."""
        documents: list[tuple[Document, list[Chunk]]] = []
        if not todo:
            return documents
        with IsolatedReader(self.settings) as reader:
            for source, data in todo:
                try:
                    doc = reader.load(source, data, default_kind=self._default_kind(source))
                except DocumentError as exc:
                    report.skipped.append((exc.path, exc.reason + self._kept_note(source.doc_id, records)))
                    continue
                documents.append((doc, self.chunker.split(doc)))
        return documents

    def _scan(
        self, extra: tuple[Path, ...], records: dict[str, DocumentRecord]
    ) -> tuple[dict[str, tuple[SourceFile, bytes]], list[tuple[str, str]], list[tuple[str, str]]]:
        """Read every source file once. Returns the files to index, the failures, and the duplicates.

        Of several files with the same content only one is indexed: the one already in the index, else the first
        in path order. A failure keeps the file's previously indexed version; a duplicate does not.
        """
        found: list[tuple[SourceFile, bytes, str]] = []
        failed: list[tuple[str, str]] = []
        ids: set[str] = set()
        examples = self._examples_indexed(extra)
        for source in discover(self.settings.source_roots(extra), self.settings.corpus_dir):
            if not examples and is_example(source.doc_id):
                continue
            try:
                data = read_bytes(source, self.settings.max_file_bytes)
            except DocumentError as exc:
                failed.append((exc.path, exc.reason + self._kept_note(source.doc_id, records)))
                continue
            if source.doc_id in ids:
                failed.append(
                    (str(source.path), f"another file already has the document id {source.doc_id!r}")
                )
                continue
            ids.add(source.doc_id)
            found.append((source, data, hashlib.sha256(data).hexdigest()))
        indexed_sha = {r.sha256: doc_id for doc_id, r in records.items()}
        keep: dict[str, SourceFile] = {}
        for source, _, sha in found:
            current = keep.get(sha)
            if current is None or (indexed_sha.get(sha) == source.doc_id != current.doc_id):
                keep[sha] = source
        files: dict[str, tuple[SourceFile, bytes]] = {}
        duplicates: list[tuple[str, str]] = []
        for source, data, sha in found:
            if keep[sha] is source:
                files[source.doc_id] = (source, data)
            else:
                duplicates.append((str(source.path), f"same content as {keep[sha].path} (indexed once)"))
        return files, failed, duplicates

    def _examples_indexed(self, extra: tuple[Path, ...]) -> bool:
        """Whether the shipped example policies are indexed: always, never, or ("auto") only while the
        organization has no documents of its own (no source folder configured or remembered, no upload)."""
        if self.settings.example_policies != "auto":
            return self.settings.example_policies == "always"
        uploads = self.settings.uploads_dir
        has_uploads = uploads.is_dir() and any(
            p.is_file() and not p.name.startswith(".") for p in uploads.iterdir()
        )
        return not (self.settings.sources or extra or has_uploads)

    def _write(
        self,
        documents: list[tuple[Document, list[Chunk]]],
        records: dict[str, DocumentRecord],
        report: IngestReport,
        progress: bool,
        reuse: bool = True,
    ) -> None:
        """Store the documents' chunks, embedding only those not stored yet (``reuse``: the stored vectors were
        made the way they would be made now; otherwise, after a change of :attr:`signature`, every chunk is
        embedded again)."""
        # Only the changed documents' own chunks: a single upload must not scan the whole store.
        existing = {doc.doc_id: self.store.ids(doc.doc_id) for doc, _ in documents}
        new_chunks = [
            c
            for doc, chunks in documents
            for c in chunks
            if not reuse or c.chunk_id not in existing.get(doc.doc_id, ())
        ]
        chunk_vecs, unit_vecs = self._embed(new_chunks, progress)
        vec_of = {c.chunk_id: (chunk_vecs[i], unit_vecs[i]) for i, c in enumerate(new_chunks)}
        for doc, chunks in documents:
            fresh = [c for c in chunks if c.chunk_id in vec_of]
            if fresh:
                self.store.add(
                    fresh,
                    np.stack([vec_of[c.chunk_id][0] for c in fresh]),
                    [vec_of[c.chunk_id][1] for c in fresh],
                )
            stale = existing.get(doc.doc_id, set()) - {c.chunk_id for c in chunks}
            self.store.delete_chunks(sorted(stale))
            self.manifest.put(
                DocumentRecord(
                    doc.doc_id,
                    doc.title,
                    doc.kind,
                    doc.source_path,
                    doc.sha256,
                    tuple(c.chunk_id for c in chunks),
                    time.time(),
                )
            )
            (report.updated if doc.doc_id in records else report.added).append(doc.doc_id)
            report.chunks_embedded += len(fresh)
            report.chunks_deleted += len(stale)

    def _embed(self, chunks: list[Chunk], progress: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32), []
        chunk_vecs = self.embedder.encode(
            [f"{c.context_header}\n{c.text}" for c in chunks],
            progress="Embedding passages" if progress else False,
        )
        unit_texts = [c.unit_embedding_text(i) for c in chunks for i in range(len(c.units))]
        flat = self.embedder.encode(unit_texts, progress="Embedding sentences" if progress else False)
        unit_vecs, pos = [], 0
        for c in chunks:
            unit_vecs.append(flat[pos : pos + len(c.units)])
            pos += len(c.units)
        return chunk_vecs, unit_vecs

    def _sweep(self, report: IngestReport) -> bool:
        """After an interrupted run: delete what no manifest row accounts for, and chunks missing their unit
        vectors (written before the kill, their units not yet). The normal diff then redoes those documents."""
        expected = {doc_id: set(r.chunk_ids) for doc_id, r in self.manifest.documents().items()}
        stored = self.store.doc_chunk_ids()
        orphans = {cid for doc_id, ids in stored.items() for cid in ids - expected.get(doc_id, set())}
        live = {cid for ids in stored.values() for cid in ids}
        with_units = self.store.unit_chunk_ids()
        incomplete = live - with_units
        self.store.delete_chunks(sorted(orphans | incomplete | (with_units - live)))
        report.chunks_deleted += len(orphans | incomplete)
        return True

    def _default_kind(self, source: SourceFile) -> str:
        return "article" if source.doc_id.startswith("sources/") else "policy"

    @staticmethod
    def _kept_note(doc_id: str, records: dict[str, DocumentRecord]) -> str:
        return " (the previously indexed version is kept)" if doc_id in records else ""
