"""The corpus index of one generation: only committed passages, unit vectors cached and carried over, forgotten
after a rebuild. Over the in-memory toy store, so what the store holds can be changed behind the index's back."""

from __future__ import annotations

import numpy as np
import pytest
from memory_store import MemoryStore, indexed, section_passage

from assistant.search.corpus_index import CorpusIndex, CorpusIndexes
from assistant.search.glossary import Glossary
from assistant.types import Chunk, Unit


def passage(chunk_id: str, doc_id: str, text: str) -> Chunk:
    return Chunk(
        chunk_id, doc_id, "Title", "policy", doc_id, (), text, 0, len(text), 0, (Unit(0, len(text), False),)
    )


A = passage("a", "policies/a.md", "Credentialing is renewed every two years.")
B = passage("b", "policies/b.md", "Parking is in lot seven.")
C = passage("c", "policies/c.md", "Peer review screens referrals within seven days.")
VECTORS = {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0], "c": [0.0, 0.0, 1.0]}


@pytest.fixture()
def store() -> MemoryStore:
    store = MemoryStore()
    chunks = [A, B, C]
    store.add(
        chunks,
        np.array([VECTORS[c.chunk_id] for c in chunks], dtype=np.float32),
        [np.array([VECTORS[c.chunk_id]], dtype=np.float32) for c in chunks],
    )
    return store


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary.load()


def test_only_committed_passages_are_in_the_index(store: MemoryStore, glossary: Glossary) -> None:
    committed = {"a", "c"}
    index = CorpusIndexes(store, glossary, committed=lambda: committed).get("g1")
    assert set(index.by_id) == {"a", "c"}
    assert len(index) == 2
    assert index.lexical.search("parking lot", 5) == []
    assert [c.chunk_id for c, _ in index.lexical.search("credentialing", 5)] == ["a"]


def test_without_a_committed_filter_every_stored_passage_is_in(
    store: MemoryStore, glossary: Glossary
) -> None:
    assert set(CorpusIndexes(store, glossary).get("g1").by_id) == {"a", "b", "c"}


def test_the_same_generation_is_the_same_index(store: MemoryStore, glossary: Glossary) -> None:
    committed = {"a"}
    indexes = CorpusIndexes(store, glossary, committed=lambda: committed)
    first = indexes.get("g1")
    committed.add("b")
    assert indexes.get("g1") is first  # not rebuilt until the generation changes
    second = indexes.get("g2")
    assert second is not first
    assert set(second.by_id) == {"a", "b"}
    assert second.generation == "g2"


def test_unit_vectors_are_read_when_the_index_is_built_and_kept(
    store: MemoryStore, glossary: Glossary
) -> None:
    index = CorpusIndexes(store, glossary).get("g1")
    store.units.clear()  # the store loses them: the index still has its copies
    got = index.unit_vectors([A, B])
    assert set(got) == {"a", "b"}
    np.testing.assert_array_equal(got["a"], np.array([VECTORS["a"]], dtype=np.float32))


def test_unit_vectors_missing_from_memory_are_read_from_the_store_and_kept(
    store: MemoryStore, glossary: Glossary
) -> None:
    index = CorpusIndex("g1", [A], glossary, store)
    assert set(index.carried()) == {"a"}  # a small index reads its passages' vectors when built
    assert set(index.unit_vectors([B])) == {"b"}
    assert set(index.carried()) == {"a", "b"}
    gone = passage("gone", "policies/x.md", "Not stored.")
    assert index.unit_vectors([gone]) == {}


def test_cached_unit_vectors_are_carried_to_the_next_generation(
    store: MemoryStore, glossary: Glossary
) -> None:
    indexes = CorpusIndexes(store, glossary)
    indexes.get("g1")
    store.units.clear()
    nxt = indexes.get("g2")
    assert set(nxt.unit_vectors([A, B, C])) == {"a", "b", "c"}


def test_forget_drops_the_index_and_its_cached_vectors(store: MemoryStore, glossary: Glossary) -> None:
    indexes = CorpusIndexes(store, glossary)
    first = indexes.get("g1")
    store.units.clear()
    indexes.forget()
    again = indexes.get("g1")
    assert again is not first
    assert again.unit_vectors([A, B, C]) == {}  # nothing carried: read afresh from the (now empty) store


def test_a_large_index_reads_unit_vectors_on_demand_and_keeps_only_the_most_recent(
    store: MemoryStore, glossary: Glossary, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.search.corpus_index as corpus_index

    monkeypatch.setattr(corpus_index, "UNIT_CACHE_CHUNKS", 2)
    index = CorpusIndex("g1", [A, B, C], glossary, store)
    assert index.carried() == {}  # too many passages to read them all when built
    index.unit_vectors([A])
    index.unit_vectors([B, C])
    assert list(index.carried()) == ["b", "c"]  # the least recently used one went
    index.unit_vectors([B])
    index.unit_vectors([A])
    assert list(index.carried()) == ["b", "a"]


def test_a_section_s_passages_and_subsections_come_in_document_order(glossary: Glossary) -> None:
    levels = ("4. Levels",)
    chunks = [
        section_passage("l2", "policies/e.md", (*levels, "4.2 Level 2"), "Level two text.", 300),
        section_passage("top2", "policies/e.md", levels, "More opening text.", 120),
        section_passage("l1", "policies/e.md", (*levels, "4.1 Level 1"), "Level one text.", 200),
        section_passage("top1", "policies/e.md", levels, "Opening text.", 100),
        section_passage("other", "policies/e.md", ("5. Other",), "Other text.", 400),
    ]
    index = CorpusIndexes(indexed(chunks), glossary).get("g1")
    assert [c.chunk_id for c in index.section("policies/e.md", levels)] == ["top1", "top2"]
    assert index.subsections("policies/e.md", levels) == [(*levels, "4.1 Level 1"), (*levels, "4.2 Level 2")]
    assert index.subsections("policies/e.md", ()) == [levels, ("5. Other",)]
    assert index.subsections("policies/other.md", levels) == []
