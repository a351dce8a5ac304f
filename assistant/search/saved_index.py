"""The corpus index of one generation saved on disk, so a process opens 100,000 passages in seconds instead of
reading them all back from the vector store and analysing them again.

A saved index is named by its content: a hash of the sorted ids of the committed passages (ids are content
hashes themselves), the analyser's version, the glossary and the bm25s version. Whoever builds an index for a
set of passages saves it; any process that later needs the same set loads it. Nothing in it is trusted: a
folder whose files do not match the checksums written with them, whose passages are not exactly the ones its
name stands for, or that cannot be read for any other reason is ignored (and replaced by a fresh build).

Each saved index is a folder ``<data dir>/corpus-index/<key>/``, written in full under a temporary name and
renamed into place, so a reader never sees half of one. A few recently used ones are kept.

A small index (every passage's vectors held in memory, see :mod:`assistant.search.dense`) also keeps the passage
and unit vectors it read from the store, so a process answering from it never opens the vector store (importing
chromadb alone takes most of a second). The key then also names the embedding model, and a rebuild, which may
embed the same text anew, deletes the saved indexes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from assistant.search.chunk_table import ChunkTable, chunk_row
from assistant.search.glossary import Glossary
from assistant.search.lexical import ANALYSER_VERSION, LexicalTerms
from assistant.types import Chunk

__all__ = ["SavedCorpus", "SavedIndexes", "SavedVectors", "corpus_key"]

log = logging.getLogger(__name__)

FORMAT = "3"
#: Saved indexes kept (the most recently used): the current one and a few before it, for a process still on
#: an older generation.
KEEP = 3
#: A temporary folder older than this was left by a process that died while saving.
STALE_TMP_S = 3600.0
_BM25 = "bm25"
_FILES = ("chunks.jsonl", "columns.json", "terms.json", "text.txt")
_VECTOR_FILES = ("passage-vectors.npy", "unit-vectors.npy", "unit-starts.npy")


@dataclass(frozen=True)
class SavedVectors:
    """Every vector of a small index, as read from the store: one row per passage (in passage order), and every
    unit vector stacked in passage order with the row where each passage's units start."""

    passages: np.ndarray
    units: np.ndarray
    starts: np.ndarray

    def check(self, passages: int) -> None:
        """:raises ValueError: the arrays do not fit ``passages`` passages."""
        starts, units = self.starts, self.units
        if (
            self.passages.ndim != 2
            or self.passages.shape[0] != passages
            or units.ndim != 2
            or units.shape[1] != self.passages.shape[1]
            or starts.shape != (passages,)
            or (passages and (starts[0] != 0 or starts[-1] >= len(units)))
            or bool(np.any(np.diff(starts) <= 0))
        ):
            raise ValueError("its vectors do not fit its passages")

    def blobs(self) -> dict[str, bytes]:
        arrays = (self.passages, self.units, self.starts)
        return {name: _npy(array) for name, array in zip(_VECTOR_FILES, arrays, strict=True)}

    @classmethod
    def from_blobs(cls, data: dict[str, bytes]) -> SavedVectors:
        arrays = [np.load(io.BytesIO(data[name]), allow_pickle=False) for name in _VECTOR_FILES]
        return cls(arrays[0], arrays[1], arrays[2])


@dataclass(frozen=True)
class SavedCorpus:
    """Everything a corpus index derives from its passages: the passages, their BM25 terms, and the sources' own
    text (lower-cased, whitespace-folded) with its set of words."""

    chunks: Sequence[Chunk]
    terms: LexicalTerms
    text: str
    words: frozenset[str]
    #: the passage and unit vectors of a small index (None: the store is read for them)
    vectors: SavedVectors | None = None


def corpus_key(ids: Iterable[str], glossary: Glossary, model: str = "") -> str:
    """The name of the saved index of the passages ``ids`` (order does not matter) embedded by ``model``."""
    digest = hashlib.sha256(
        f"corpus-index {FORMAT}|analyser {ANALYSER_VERSION}|glossary {glossary.fingerprint}|"
        f"bm25s {version('bm25s')}|model {model}\n".encode()
    )
    for cid in sorted(ids):
        digest.update(cid.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()[:32]


class SavedIndexes:
    """The saved corpus indexes in one folder (``<data dir>/corpus-index``)."""

    def __init__(self, folder: Path, glossary: Glossary, model: str = "") -> None:
        self.folder = Path(folder)
        self.glossary = glossary
        self.model = model

    def load(self, key: str) -> SavedCorpus | None:
        """The saved index named ``key``, or None when there is none or it is not exactly right."""
        path = self.folder / key
        if not (path / "meta.json").is_file():
            return None
        try:
            corpus = self._read(path, key)
        except Exception as exc:  # anything wrong with a saved index means: build it again
            log.warning(
                "The saved corpus index %s is not usable (%s: %s); it is rebuilt.",
                path,
                type(exc).__name__,
                exc,
            )
            _discard(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept by the pruning
        return corpus

    def save(self, key: str, corpus: SavedCorpus) -> Path | None:
        """Save ``corpus`` as ``key`` (atomically), then prune old ones. A failure (disk full) is logged and
        otherwise ignored: the index in memory works the same; the next process builds it again."""
        target = self.folder / key
        if (target / "meta.json").is_file():
            return target
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.folder, prefix=f".tmp-{key}-"))
        except OSError as exc:
            log.warning("Cannot save the corpus index in %s: %s", self.folder, exc)
            return None
        try:
            _write(tmp, key, corpus)
            os.rename(tmp, target)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (target / "meta.json").is_file():  # not merely another process saving it first
                log.warning("Cannot save the corpus index in %s: %s", target, exc)
                return None
        self.prune(keep=target)
        return target

    def clear(self) -> None:
        """Delete every saved index (after a rebuild: the vectors of the same passages may change)."""
        try:
            entries = [p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        except OSError:
            return
        for path in entries:
            _discard(path)

    def prune(self, keep: Path | None = None) -> None:
        """Delete all but the most recently used saved indexes, and temporary folders of dead writers."""
        try:
            entries = [p for p in self.folder.iterdir() if p.is_dir()]
        except OSError:
            return
        now = time.time()
        saved = sorted((p for p in entries if not p.name.startswith(".")), key=_mtime, reverse=True)
        doomed = [p for p in saved[KEEP:] if p != keep]
        doomed += [p for p in entries if p.name.startswith(".tmp-") and now - _mtime(p) > STALE_TMP_S]
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)

    def _read(self, path: Path, key: str) -> SavedCorpus:
        import bm25s

        meta = json.loads((path / "meta.json").read_text("utf-8"))
        if meta.get("format") != FORMAT or meta.get("key") != key:
            raise ValueError("made by another version or for other passages")
        checksums: dict[str, str] = meta["files"]
        expected = {*_FILES, *(f"{_BM25}/{name}" for name in _bm25_names(path))}
        if _VECTOR_FILES[0] in checksums:
            expected.update(_VECTOR_FILES)
        if set(checksums) != expected:
            raise ValueError(f"holds files {sorted(expected)}, its record lists {sorted(checksums)}")
        data = {name: (path / name).read_bytes() for name in checksums}
        for name, blob in data.items():
            if hashlib.sha256(blob).hexdigest() != checksums[name]:
                raise ValueError(f"{name} does not match its checksum")
        columns = json.loads(data["columns.json"])
        rows = data["chunks.jsonl"].split(b"\n") if data["chunks.jsonl"] else []
        chunks = ChunkTable(
            [str(i) for i in columns["ids"]], columns["kinds"], columns["doc_ids"], rows
        )  # each passage is parsed (and checked against its id) when first used
        if corpus_key(chunks.ids, self.glossary, self.model) != key:
            raise ValueError("its passages are not the ones its name stands for")
        terms = json.loads(data["terms.json"])
        retriever = bm25s.BM25.load(path / _BM25, mmap=False, allow_pickle=False) if chunks else bm25s.BM25()
        df = {str(t): int(n) for t, n in terms["df"].items()}
        if chunks and (
            int(retriever.scores["num_docs"]) != len(chunks) or not set(df) <= set(retriever.vocab_dict)
        ):
            raise ValueError("its BM25 index does not match its passages")
        vectors = SavedVectors.from_blobs(data) if _VECTOR_FILES[0] in data else None
        if vectors is not None:
            vectors.check(len(chunks))
        return SavedCorpus(
            chunks=chunks,
            terms=LexicalTerms(retriever, df, frozenset(map(str, terms["surface"]))),
            text=data["text.txt"].decode("utf-8"),
            words=frozenset(map(str, terms["words"])),
            vectors=vectors,
        )


def _write(folder: Path, key: str, corpus: SavedCorpus) -> None:
    """Every file of a saved index into ``folder``, the record of their checksums (meta.json) last."""
    if corpus.chunks:
        corpus.terms.retriever.save(str(folder / _BM25), show_progress=False)
    else:
        (folder / _BM25).mkdir()
    terms = {
        "df": corpus.terms.df,
        "surface": sorted(corpus.terms.surface_vocabulary),
        "words": sorted(corpus.words),
    }
    columns = {
        "ids": [c.chunk_id for c in corpus.chunks],
        "kinds": [c.kind for c in corpus.chunks],
        "doc_ids": [c.doc_id for c in corpus.chunks],
    }
    rows = (json.dumps(chunk_row(c), ensure_ascii=False) for c in corpus.chunks)  # no raw newline inside
    blobs = {
        "chunks.jsonl": "\n".join(rows).encode("utf-8"),
        "columns.json": json.dumps(columns, ensure_ascii=False).encode("utf-8"),
        "terms.json": json.dumps(terms, ensure_ascii=False).encode("utf-8"),
        "text.txt": corpus.text.encode("utf-8"),
        **(corpus.vectors.blobs() if corpus.vectors is not None else {}),
    }
    for name, blob in blobs.items():
        _write_synced(folder / name, blob)
    for name in _bm25_names(folder):
        blobs[f"{_BM25}/{name}"] = (folder / _BM25 / name).read_bytes()
    checksums = {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()}
    meta = {"format": FORMAT, "key": key, "chunks": len(corpus.chunks), "files": checksums}
    _write_synced(folder / "meta.json", json.dumps(meta, indent=1).encode("utf-8"))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _write_synced(path: Path, blob: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())


def _bm25_names(folder: Path) -> list[str]:
    bm25 = folder / _BM25
    return sorted(p.name for p in bm25.iterdir()) if bm25.is_dir() else []


def _discard(path: Path) -> None:
    """Move a bad saved index out of the way (one rename, so a reader never sees it half deleted), then delete."""
    aside = path.with_name(f".tmp-bad-{path.name}-{os.getpid()}")
    try:
        os.rename(path, aside)
    except OSError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
