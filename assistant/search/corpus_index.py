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
from collections.abc import Callable, Sequence

import numpy as np

from assistant.search import dense
from assistant.search.glossary import Glossary
from assistant.search.lexical import LexicalIndex
from assistant.search.protocols import HoldsPassageVectors, VectorStore
from assistant.types import Chunk

_SINGLE_WORD = re.compile(r"\w+")
#: Passages whose unit vectors are kept in memory (about 10 KB each with the bundled model). An index this
#: small has all of them read when it is built; a larger one reads them as passages are retrieved.
UNIT_CACHE_CHUNKS = 4096


class CorpusIndex:
    """The committed passages of one index generation, searchable by BM25, with their unit vectors."""

    def __init__(
        self,
        generation: str,
        chunks: Sequence[Chunk],
        glossary: Glossary,
        store: VectorStore,
        carried: OrderedDict[str, np.ndarray] | None = None,
    ) -> None:
        self.generation = generation
        self.lexical = LexicalIndex(chunks, glossary)
        self._store = store
        self._lock = threading.Lock()
        self._text: str | None = None
        self._words: frozenset[str] = frozenset()
        #: unit vectors by passage id; ids are content hashes, so entries carried over from the previous
        #: generation are still right
        self._units: OrderedDict[str, np.ndarray] = OrderedDict(carried or ())
        self._dense: dense.ExactDense | bool | None = False  # False: not built yet; None: not searched here
        if len(chunks) <= UNIT_CACHE_CHUNKS:
            self.unit_vectors(chunks)

    @property
    def by_id(self) -> dict[str, Chunk]:
        return self.lexical.by_id

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
        if len(chunks) > dense.MAX_PASSAGES or not isinstance(self._store, HoldsPassageVectors):
            return None
        vectors = self._store.chunk_vectors([c.chunk_id for c in chunks])
        return dense.ExactDense(chunks, vectors) if len(vectors) == len(chunks) else None

    def mentions(self, phrase: str) -> bool:
        """Whether the sources themselves use ``phrase`` as whole words (case and whitespace folded) in some
        passage, title or heading; unlike the BM25 vocabulary, this leaves out what the glossary adds.

        A single word is a set lookup (asked on every question); only a longer phrase scans the text."""
        text, words = self._own_text()
        folded = " ".join(phrase.lower().split())
        if _SINGLE_WORD.fullmatch(folded):
            return folded in words
        return bool(folded) and re.search(rf"(?<!\w){re.escape(folded)}(?!\w)", text) is not None

    def _own_text(self) -> tuple[str, frozenset[str]]:
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

    def carried(self) -> OrderedDict[str, np.ndarray]:
        with self._lock:
            return OrderedDict(self._units)


class CorpusIndexes:
    """Hands out the corpus index of the current generation, building it when the generation changed."""

    def __init__(
        self,
        store: VectorStore,
        glossary: Glossary,
        committed: Callable[[], set[str]] | None = None,
    ) -> None:
        """
        :param committed: the ids of the committed passages (from the manifest); None: every stored passage.
        """
        self.store = store
        self.glossary = glossary
        self.committed = committed
        self._current: CorpusIndex | None = None
        self._lock = threading.Lock()

    def get(self, generation: str) -> CorpusIndex:
        with self._lock:
            current = self._current
            if current is None or current.generation != generation:
                chunks = self.store.all_chunks()
                if self.committed is not None:
                    ids = self.committed()
                    chunks = [c for c in chunks if c.chunk_id in ids]
                carried = current.carried() if current is not None else None
                current = CorpusIndex(generation, chunks, self.glossary, self.store, carried)
                self._current = current
            return current

    def forget(self) -> None:
        """Drop the index and its cached vectors (after a rebuild, which may use another model)."""
        with self._lock:
            self._current = None
