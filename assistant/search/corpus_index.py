"""One corpus index per index generation: the committed passages, BM25 over them (with its vocabulary, IDF and
spelling correction), and the passages' unit vectors. Built once when the generation changes and handed to the
query analysis, the retriever and the answerer alike.

Only passages of documents the manifest records as committed are in it: an ingest writes a document's passages
to the store before the manifest records it, so a question never sees a half-written document.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from assistant.search import dense
from assistant.search.glossary import Glossary
from assistant.search.lexical import LexicalIndex
from assistant.search.protocols import VectorStore
from assistant.search.saved_index import SavedCorpus, SavedIndexes, SavedVectors, corpus_key
from assistant.types import Chunk

_SINGLE_WORD = re.compile(r"\w+")
#: Passages whose unit vectors are kept in memory (about 10 KB each with the bundled model). An index this
#: small has all of them read when it is built; a larger one reads them as passages are retrieved.
UNIT_CACHE_CHUNKS = 4096


def best_unit_scores(vector: np.ndarray, unit_vectors: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Per passage id, the highest similarity of one of its unit vectors to ``vector`` (none for a passage
    without units)."""
    return {cid: float(np.max(v @ vector)) for cid, v in unit_vectors.items() if len(v)}


class CorpusIndex:
    """The committed passages of one index generation, searchable by BM25, with their unit vectors."""

    def __init__(
        self,
        generation: str,
        chunks: Sequence[Chunk],
        glossary: Glossary,
        store: VectorStore,
        carried: OrderedDict[str, np.ndarray] | None = None,
        saved: SavedCorpus | None = None,
    ) -> None:
        """
        :param saved: what a saved index holds for exactly these ``chunks`` (then nothing is derived again).
        """
        self.generation = generation
        self.lexical = LexicalIndex(chunks, glossary, saved.terms if saved is not None else None)
        self._store = store
        self._lock = threading.Lock()
        self._text: str | None = saved.text if saved is not None else None
        self._words: frozenset[str] = saved.words if saved is not None else frozenset()
        #: unit vectors by passage id; ids are content hashes, so entries carried over from the previous
        #: generation are still right
        self._units: OrderedDict[str, np.ndarray] = OrderedDict(carried or ())
        self._sentences: tuple[np.ndarray, np.ndarray] | None = None
        self._dense: dense.ExactDense | bool | None = False  # False: not built yet; None: not searched here
        #: each (document, heading path)'s passages in document order, worked out at the first use
        self._order: dict[tuple[str, tuple[str, ...]], list[Chunk]] | None = None
        #: each (document, heading path)'s subsections holding passages, in document order (with _order)
        self._children: dict[tuple[str, tuple[str, ...]], list[tuple[str, ...]]] = {}
        #: each document's passages, and its sections with subsections, in document order (with _order)
        self._documents: dict[str, list[Chunk]] = {}
        self._parents: dict[str, list[tuple[str, ...]]] = {}
        #: every vector came from a saved index: questions read nothing from the store (held only while the
        #: index is small enough to keep every unit vector in memory, as when they are read from the store)
        vectors = saved.vectors if saved is not None and len(chunks) <= UNIT_CACHE_CHUNKS else None
        self.self_contained = vectors is not None
        if vectors is not None:
            self._hold(chunks, vectors)
        if len(chunks) <= UNIT_CACHE_CHUNKS:
            self.unit_vectors(chunks)

    def _hold(self, chunks: Sequence[Chunk], vectors: SavedVectors) -> None:
        """Take a saved index's vectors as if read from the store (the same float32 values)."""
        self._dense = dense.ExactDense.from_matrix(chunks, vectors.passages)
        self._sentences = (vectors.units, vectors.starts)
        ends = [*vectors.starts[1:].tolist(), len(vectors.units)]
        for chunk, start, end in zip(chunks, vectors.starts.tolist(), ends, strict=True):
            self._units[chunk.chunk_id] = vectors.units[start:end]

    @property
    def by_id(self) -> Mapping[str, Chunk]:
        return self.lexical.by_id

    def _sections(self) -> dict[tuple[str, tuple[str, ...]], list[Chunk]]:
        """The passages under each (document, heading path), in document order; built once, with each section's
        subsections, each document's passages and each document's sections that have subsections."""
        with self._lock:
            if self._order is None:
                grouped: dict[tuple[str, tuple[str, ...]], list[Chunk]] = {}
                for c in self.lexical.chunks:
                    grouped.setdefault((c.doc_id, c.section), []).append(c)
                order = {key: sorted(cs, key=lambda c: c.start) for key, cs in grouped.items()}
                # a section's place is where its first passage starts
                children: dict[tuple[str, tuple[str, ...]], list[tuple[int, tuple[str, ...]]]] = {}
                documents: dict[str, list[Chunk]] = {}
                for (doc, section), chunks in order.items():
                    documents.setdefault(doc, []).extend(chunks)
                    if section:
                        children.setdefault((doc, section[:-1]), []).append((chunks[0].start, section))
                self._children = {key: [s for _, s in sorted(found)] for key, found in children.items()}
                self._documents = {doc: sorted(cs, key=lambda c: c.start) for doc, cs in documents.items()}
                parents: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
                for (doc, path), found in children.items():
                    if path:
                        parents.setdefault(doc, []).append((min(found)[0], path))
                self._parents = {doc: [p for _, p in sorted(found)] for doc, found in parents.items()}
                self._order = order
            return self._order

    def preceding(self, chunk: Chunk) -> Chunk | None:
        """The passage just before ``chunk`` under the same heading of its document (None: it opens it)."""
        before = [c for c in self._sections().get((chunk.doc_id, chunk.section), ()) if c.start < chunk.start]
        return before[-1] if before else None

    def section(self, doc_id: str, path: tuple[str, ...]) -> list[Chunk]:
        """The passages right under heading path ``path`` of document ``doc_id``, in document order."""
        return list(self._sections().get((doc_id, path), ()))

    def subsections(self, doc_id: str, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The heading paths one level below ``path`` in document ``doc_id`` that hold passages, in document
        order."""
        self._sections()
        return list(self._children.get((doc_id, path), ()))

    def document(self, doc_id: str) -> list[Chunk]:
        """The passages of document ``doc_id``, in document order."""
        self._sections()
        return list(self._documents.get(doc_id, ()))

    def parents(self, doc_id: str) -> list[tuple[str, ...]]:
        """The sections of document ``doc_id`` (heading paths, not the document itself) that have subsections
        holding passages, in document order; a section made of its subsections only, "Procedure" above "Days 1
        to 30: Learn", is one."""
        self._sections()
        return list(self._parents.get(doc_id, ()))

    def __len__(self) -> int:
        return len(self.lexical.chunks)

    def exact_dense(self) -> dense.ExactDense | None:
        """The passage vectors in memory for exact dense search (built on first use), or None when the index is
        too large for that or the store cannot hand its vectors over (then the store is queried)."""
        if self._dense is False:
            with self._lock:
                if self._dense is False:
                    self._dense = self._load_dense()
        return self._dense if isinstance(self._dense, dense.ExactDense) else None

    def _load_dense(self) -> dense.ExactDense | None:
        chunks = self.lexical.chunks
        if len(chunks) > dense.MAX_PASSAGES:
            return None
        vectors = self._store.chunk_vectors([c.chunk_id for c in chunks])
        return dense.ExactDense(chunks, vectors) if len(vectors) == len(chunks) else None

    def mentions(self, phrase: str) -> bool:
        """Whether the sources themselves use ``phrase`` as whole words (case and whitespace folded) in some
        passage, title or heading; unlike the BM25 vocabulary, this leaves out what the glossary adds.

        A single word is a set lookup (asked on every question); only a longer phrase scans the text."""
        text, words = self.own_text()
        folded = " ".join(phrase.lower().split())
        if _SINGLE_WORD.fullmatch(folded):
            return folded in words
        return bool(folded) and re.search(rf"(?<!\w){re.escape(folded)}(?!\w)", text) is not None

    def own_text(self) -> tuple[str, frozenset[str]]:
        """The sources' own text, lower-cased and whitespace-folded, and its set of words (built once)."""
        if self._text is None:
            parts = [f"{c.title} {c.section_label} {c.text}" for c in self.lexical.chunks]
            text = " ".join(" ".join(parts).lower().split())
            self._words = frozenset(_SINGLE_WORD.findall(text))
            self._text = text
        return self._text, self._words

    def unit_vectors(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        """Per passage id, its unit vectors in unit order: from memory, else read from the store (and kept)."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for c in chunks:
                if c.chunk_id in self._units:
                    self._units.move_to_end(c.chunk_id)
                    found[c.chunk_id] = self._units[c.chunk_id]
        wanted = [c for c in chunks if c.chunk_id not in found]
        if not wanted:
            return found
        read = self._store.unit_vectors(wanted)
        with self._lock:
            for cid, vectors in read.items():
                found[cid] = self._units[cid] = vectors
            while len(self._units) > UNIT_CACHE_CHUNKS:
                self._units.popitem(last=False)
        return found

    def best_sentence_scores(self, vector: np.ndarray, chunks: Sequence[Chunk]) -> dict[str, float]:
        """Per passage id, the highest similarity of one of its units (sentences, list items) to ``vector``."""
        return best_unit_scores(vector, self.unit_vectors(chunks))

    def best_sentence_ranking(self, vector: np.ndarray) -> list[tuple[str, float]] | None:
        """Every passage by how near its best unit is to ``vector``, nearest first; None when the index is
        too large to hold every unit vector in memory (the caller then scores its candidates only)."""
        matrix = self._sentence_matrix()
        if matrix is None:
            return None
        units, starts = matrix
        best = np.maximum.reduceat(units @ vector, starts)
        order = np.argsort(-best, kind="stable")
        chunks = self.lexical.chunks
        return [(chunks[i].chunk_id, float(best[i])) for i in order]

    def _sentence_matrix(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Every unit vector stacked in passage order, with the row where each passage's units start."""
        if self._sentences is None:
            chunks = self.lexical.chunks
            if not chunks or len(chunks) > UNIT_CACHE_CHUNKS:
                return None
            vectors = self.unit_vectors(chunks)
            blocks = [vectors.get(c.chunk_id) for c in chunks]
            if any(b is None or not len(b) for b in blocks):
                return None
            sizes = np.array([len(b) for b in blocks if b is not None])
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            stacked = np.vstack([b for b in blocks if b is not None]).astype(np.float32)
            self._sentences = (stacked, starts)
        return self._sentences

    def carried(self) -> OrderedDict[str, np.ndarray]:
        with self._lock:
            return OrderedDict(self._units)

    def saved(self) -> SavedCorpus:
        """What a saved index keeps of this one (see :mod:`assistant.search.saved_index`): with every vector
        when it is small enough to hold them all in memory."""
        text, words = self.own_text()
        return SavedCorpus(self.lexical.chunks, self.lexical.terms, text, words, self._all_vectors())

    def _all_vectors(self) -> SavedVectors | None:
        exact = self.exact_dense()
        matrix = self._sentence_matrix() if exact is not None else None
        if exact is None or matrix is None or len(exact) != len(self):
            return None
        return SavedVectors(exact.matrix, matrix[0], matrix[1])


class CorpusIndexes:
    """Hands out the corpus index of the current generation, building it when the generation changed.

    With a folder of saved indexes, an index for passages some process has indexed before is loaded from it
    instead of being built (reading every passage from the store, analysing them, BM25); a new one is saved.
    """

    def __init__(
        self,
        store: VectorStore,
        glossary: Glossary,
        committed: Callable[[], set[str]] | None = None,
        saved: Path | None = None,
        model: str = "",
    ) -> None:
        """
        :param committed: the ids of the committed passages (from the manifest); None: every stored passage.
        :param saved: the folder of saved indexes (``<data dir>/corpus-index``); None: always build. Used only
            with ``committed``, whose ids name the saved index before anything is read from the store.
        :param model: the embedding model's name (the vectors a saved index keeps are that model's).
        """
        self.store = store
        self.glossary = glossary
        self.committed = committed
        self.model = model
        self.saved = (
            SavedIndexes(saved, glossary, model) if saved is not None and committed is not None else None
        )
        self._current: CorpusIndex | None = None
        self._lock = threading.Lock()

    def get(self, generation: str) -> CorpusIndex:
        with self._lock:
            current = self._current
            if current is None or current.generation != generation:
                carried = current.carried() if current is not None else None
                current = self._open(generation, carried)
                self._current = current
            return current

    def self_contained(self, generation: str) -> bool:
        """Whether the index of ``generation`` answers without the store: it came from a saved index holding
        every vector (loaded now if need be; nothing is read from the store, nor built, when there is none)."""
        with self._lock:
            current = self._current
            if current is None or current.generation != generation:
                carried = current.carried() if current is not None else None
                loaded = self._load_saved(generation, carried, self._key(self._committed_ids()))
                if loaded is None:
                    return False
                self._current = current = loaded
            return current.self_contained

    def _committed_ids(self) -> set[str] | None:
        return self.committed() if self.committed is not None else None

    def _key(self, ids: set[str] | None) -> str | None:
        return corpus_key(ids, self.glossary, self.model) if self.saved is not None and ids else None

    def _load_saved(
        self, generation: str, carried: OrderedDict[str, np.ndarray] | None, key: str | None
    ) -> CorpusIndex | None:
        if key is None or self.saved is None or (found := self.saved.load(key)) is None:
            return None
        return CorpusIndex(generation, found.chunks, self.glossary, self.store, carried, saved=found)

    def _open(self, generation: str, carried: OrderedDict[str, np.ndarray] | None) -> CorpusIndex:
        ids = self._committed_ids()
        key = self._key(ids)
        if (loaded := self._load_saved(generation, carried, key)) is not None:
            return loaded
        chunks = self.store.all_chunks()
        if ids is not None:
            chunks = [c for c in chunks if c.chunk_id in ids]
        index = CorpusIndex(generation, chunks, self.glossary, self.store, carried)
        if key is not None and self.saved is not None and {c.chunk_id for c in chunks} == ids:
            # only a complete index: one missing passages the store lost is not what the key stands for
            self.saved.save(key, index.saved())
        return index

    def forget(self, saved: bool = False) -> None:
        """Drop the index and its cached vectors (after a rebuild, which may use another model).

        :param saved: delete the saved indexes too (a rebuild: the same passages' vectors may change).
        """
        with self._lock:
            self._current = None
            if saved and self.saved is not None:
                self.saved.clear()
