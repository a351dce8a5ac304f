"""Saved corpus indexes: a process opens the passages and BM25 of an index generation from disk instead of
reading every passage back from the store; the answers are the same; a damaged or mismatched saved index is
never used, and is replaced by a good one."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from memory_store import MemoryStore

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.search.chroma import ChromaStore
from assistant.search.corpus_index import CorpusIndexes
from assistant.search.embeddings import Embedder
from assistant.search.glossary import Glossary
from assistant.search.saved_index import KEEP, corpus_key
from assistant.types import Chunk, Unit

QUESTIONS = (
    "How often is credentialing renewed?",
    "What does a chief medical officer do?",
    "What is the FQHC?",
    "Who approves a new clinical policy and how is it reviewed?",
    "wat is the peer reveiw proces",  # spelling correction reads the saved vocabulary
    "What is the parking policy for visitors on weekends?",  # refused: the sources do not say
)


class ObservedStore:
    """A real store that counts how often every passage was read back from it (the cost a saved index saves),
    and records what else was asked of it."""

    def __init__(self, store: ChromaStore) -> None:
        self.store = store
        self.full_reads = 0
        self.used: set[str] = set()

    def all_chunks(self) -> list[Chunk]:
        self.full_reads += 1
        return self.store.all_chunks()

    def files_present(self) -> bool:
        return self.store.files_present()

    def __getattr__(self, name: str) -> Any:
        self.used.add(name)
        return getattr(self.store, name)


@pytest.fixture()
def copied(shipped: Assistant, tmp_path: Path) -> Settings:
    """A copy of the shipped corpus's index (data dir) without any saved corpus index."""
    data = tmp_path / "data"
    shutil.copytree(shipped.settings.data_dir, data, ignore=shutil.ignore_patterns("corpus-index", "*.lock"))
    return shipped.settings.replace(data_dir=data)


def open_assistant(settings: Settings, embedder: Embedder) -> tuple[Assistant, ObservedStore]:
    store = ObservedStore(ChromaStore(settings, embedder.name))
    return Assistant.build(settings, embedder=embedder, store=store), store


def answers(assistant: Assistant) -> list[dict[str, Any]]:
    out = []
    for question in QUESTIONS:
        answer = assistant.ask(question)
        shown = answer.to_dict()
        del shown["timings_ms"]
        shown["retrieved"] = [(p.chunk.chunk_id, round(p.score, 9)) for p in answer.retrieved]
        out.append(shown)
    return out


@pytest.mark.slow
def test_answers_are_identical_from_a_saved_index_and_a_fresh_build(
    copied: Settings, embedder: Embedder
) -> None:
    building, built_store = open_assistant(copied, embedder)
    built = answers(building)
    assert built_store.full_reads == 1
    saved = list(copied.corpus_index_dir.iterdir())
    assert len(saved) == 1 and (saved[0] / "meta.json").is_file()

    loading, loaded_store = open_assistant(copied, embedder)
    assert answers(loading) == built
    assert loaded_store.full_reads == 0  # nothing read back from the store: it came from disk
    # a small index keeps its vectors too: the store was not even opened (no chromadb import for a question)
    assert loaded_store.used == set()
    assert loading.store.store._client is None  # type: ignore[attr-defined]
    assert any(a["answered"] for a in built) and not all(a["answered"] for a in built)


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        "flip a byte of the BM25 scores",
        "truncate the passages",
        "empty the record",
        "passages of another index",
    ],
)
def test_a_damaged_or_mismatched_saved_index_is_rebuilt_not_used(
    copied: Settings, embedder: Embedder, damage: str
) -> None:
    first, _ = open_assistant(copied, embedder)
    expected = answers(first)[:3]
    (folder,) = copied.corpus_index_dir.iterdir()
    if damage == "flip a byte of the BM25 scores":
        scores = folder / "bm25" / "data.csc.index.npy"
        flipped = bytearray(scores.read_bytes())
        flipped[-5] ^= 0xFF
        scores.write_bytes(bytes(flipped))
    elif damage == "truncate the passages":
        chunks = folder / "chunks.jsonl"
        chunks.write_bytes(chunks.read_bytes()[:1000])
    elif damage == "empty the record":
        (folder / "meta.json").write_text("")
    else:  # a consistent saved index of other passages (one fewer) put under this index's name
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        columns = {k: v[:-1] for k, v in json.loads((folder / "columns.json").read_text("utf-8")).items()}
        rows = (folder / "chunks.jsonl").read_bytes().split(b"\n")[:-1]
        for name, blob in (
            ("columns.json", json.dumps(columns).encode()),
            ("chunks.jsonl", b"\n".join(rows)),
        ):
            (folder / name).write_bytes(blob)
            meta["files"][name] = hashlib.sha256(blob).hexdigest()
        (folder / "meta.json").write_text(json.dumps(meta))

    second, store = open_assistant(copied, embedder)
    assert answers(second)[:3] == expected
    assert store.full_reads == 1  # built again from the store
    third, store = open_assistant(copied, embedder)
    third.corpus_index()
    assert store.full_reads == 0  # and saved again, whole: the next process loads it


def passage(chunk_id: str, text: str) -> Chunk:
    doc_id = f"policies/{chunk_id}.md"
    return Chunk(
        chunk_id, doc_id, "Title", "policy", doc_id, ("Scope",), text, 0, len(text), 0, (Unit(0, 5, True),)
    )


def stored(chunks: Sequence[Chunk]) -> MemoryStore:
    store = MemoryStore()
    vectors = np.eye(len(chunks), 3, dtype=np.float32)
    store.add(chunks, vectors, [v[None, :] for v in vectors])
    return store


def test_each_set_of_passages_has_its_own_saved_index_and_old_ones_are_pruned(tmp_path: Path) -> None:
    glossary = Glossary.load()
    topics = ("credentialing", "parking", "telehealth", "formulary", "staffing", "billing", "privacy")
    chunks = [passage(f"p{i}", f"This policy covers {topic}.") for i, topic in enumerate(topics[: KEEP + 2])]
    store = stored(chunks)
    committed: set[str] = set()
    indexes = CorpusIndexes(store, glossary, committed=lambda: committed, saved=tmp_path)
    keys = []
    for i, chunk in enumerate(chunks):
        committed.add(chunk.chunk_id)
        index = indexes.get(f"g{i}")
        assert len(index) == i + 1
        keys.append(corpus_key(committed, glossary))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keys[-KEEP:])
    # the same passages in another order are the same saved index
    assert corpus_key(reversed(sorted(committed)), glossary) == keys[-1]

    reopened = CorpusIndexes(MemoryStore(), glossary, committed=lambda: committed, saved=tmp_path).get("g9")
    assert [c.chunk_id for c, _ in reopened.lexical.search("formulary", 5)] == ["p3"]
    assert reopened.by_id["p3"] == chunks[3]  # every field of a passage comes back as it was


def test_an_index_missing_passages_the_store_lost_is_not_saved(tmp_path: Path) -> None:
    glossary = Glossary.load()
    store = stored([passage("a", "Credentialing is renewed every two years.")])
    indexes = CorpusIndexes(store, glossary, committed=lambda: {"a", "gone"}, saved=tmp_path)
    assert len(indexes.get("g1")) == 1
    assert list(tmp_path.iterdir()) == []


def test_vectors_are_saved_for_one_model_and_a_rebuild_deletes_them(tmp_path: Path) -> None:
    glossary = Glossary.load()
    chunks = [passage("a", "Credentialing is renewed every two years."), passage("b", "Parking: lot seven.")]
    store = stored(chunks)
    indexes = CorpusIndexes(store, glossary, committed=lambda: {"a", "b"}, saved=tmp_path, model="mini")
    built = indexes.get("g1")
    assert not built.self_contained  # built from the store
    assert corpus_key({"a", "b"}, glossary, "mini") != corpus_key({"a", "b"}, glossary, "another")

    empty = MemoryStore()  # nothing to read: everything comes from the saved index
    reopened = CorpusIndexes(empty, glossary, committed=lambda: {"a", "b"}, saved=tmp_path, model="mini")
    assert reopened.self_contained("g1")
    loaded = reopened.get("g1")
    np.testing.assert_array_equal(loaded.unit_vectors(chunks)["b"], store.units["b"])
    vector = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    exact = loaded.exact_dense()
    assert exact is not None and [(c.chunk_id, s) for c, s in exact.nearest(vector, 2)] == [
        (c.chunk_id, s)
        for c, s in built.exact_dense().nearest(vector, 2)  # type: ignore[union-attr]
    ]
    other_model = CorpusIndexes(empty, glossary, committed=lambda: {"a", "b"}, saved=tmp_path, model="other")
    assert not other_model.self_contained("g1")

    reopened.forget(saved=True)  # what a rebuild does
    assert list(tmp_path.iterdir()) == []
