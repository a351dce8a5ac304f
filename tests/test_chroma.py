"""The Chroma vector store: its ``where`` clauses (pure), and ChromaStore on a real embedded database with small
hand-made vectors (slow: chromadb starts a database), plus the chromadb internals it relies on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from chroma_server import ChromaServer

from assistant.config import Settings
from assistant.errors import IndexMismatchError
from assistant.search.chroma import ChromaStore, _forget_shared_system, _limit_waits, where_clause
from assistant.types import Chunk, Filters, Unit


# -- where clauses ---------------------------------------------------------------------------------------------
def test_no_filter_is_no_where_clause() -> None:
    assert where_clause(None) is None
    assert where_clause(Filters()) is None
    assert where_clause(Filters(kind="", doc_id="")) is None


def test_kind_filter() -> None:
    assert where_clause(Filters(kind="policy")) == {"kind": "policy"}


def test_document_filter() -> None:
    assert where_clause(Filters(doc_id="policies/a.md")) == {"doc_id": "policies/a.md"}


def test_both_filters_are_joined_with_and() -> None:
    assert where_clause(Filters(kind="article", doc_id="sources/b.md")) == {
        "$and": [{"kind": "article"}, {"doc_id": "sources/b.md"}]
    }


# -- chromadb internals the store reaches into ---------------------------------------------------------------
def test_chromadb_still_keeps_its_shared_system_registries_where_we_look() -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    assert isinstance(SharedSystemClient._identifier_to_system, dict)
    assert isinstance(SharedSystemClient._identifier_to_refcount, dict)


# -- ChromaStore on an embedded database -----------------------------------------------------------------------
def make_chunk(chunk_id: str, doc_id: str, kind: str, sentences: list[str], ordinal: int = 0) -> Chunk:
    text = " ".join(sentences)
    units, start = [], 0
    for sentence in sentences:
        units.append(Unit(start, start + len(sentence), sentence.startswith("- ")))
        start += len(sentence) + 1
    return Chunk(
        chunk_id=chunk_id,
        doc_id=doc_id,
        title=doc_id.rsplit("/", 1)[-1].removesuffix(".md").title(),
        kind=kind,
        source_path=f"/corpus/{doc_id}",
        section=("Section", "Sub"),
        text=text,
        start=10 * ordinal,
        end=10 * ordinal + len(text),
        ordinal=ordinal,
        units=tuple(units),
    )


def axis(i: int, dim: int = 4) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


POLICY_A = make_chunk("a1", "policies/a.md", "policy", ["Alpha one.", "Alpha two."])
POLICY_A2 = make_chunk("a2", "policies/a.md", "policy", ["Alpha three."], ordinal=1)
POLICY_B = make_chunk("b1", "policies/b.md", "policy", ["Beta one.", "- a list item"])
ARTICLE_C = make_chunk("c1", "sources/c.md", "article", ["Gamma one."])
CHUNKS = [POLICY_A, POLICY_A2, POLICY_B, ARTICLE_C]
#: each chunk points along its own axis (a2 leans towards a1)
CHUNK_VECTORS = np.stack([axis(0), (axis(0) + axis(1)) / np.sqrt(2), axis(2), axis(3)])
UNIT_VECTORS = [
    np.stack([axis(0), axis(1)]),
    np.stack([axis(2)]),
    np.stack([axis(3), axis(0)]),
    np.stack([axis(1)]),
]


@pytest.fixture()
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture()
def store(settings: Settings) -> ChromaStore:
    return ChromaStore(settings, "toy-model")


@pytest.fixture()
def filled(store: ChromaStore) -> ChromaStore:
    store.add(CHUNKS, CHUNK_VECTORS, UNIT_VECTORS)
    return store


@pytest.mark.slow
def test_an_empty_store_does_not_exist_and_asking_creates_no_collection(store: ChromaStore) -> None:
    assert not store.exists()
    assert not store.exists()
    assert store.client.list_collections() == []


@pytest.mark.slow
def test_added_chunks_come_back_whole(filled: ChromaStore) -> None:
    assert filled.exists()
    assert filled.count() == 4
    assert sorted(filled.all_chunks(), key=lambda c: c.chunk_id) == CHUNKS
    assert filled.get_chunks(["b1", "missing"]) == {"b1": POLICY_B}
    assert filled.get_chunks([]) == {}
    assert filled.ids() == {"a1", "a2", "b1", "c1"}
    assert filled.ids("policies/a.md") == {"a1", "a2"}
    assert filled.present(["a1", "zz", "c1"]) == {"a1", "c1"}
    assert filled.doc_chunk_ids() == {
        "policies/a.md": {"a1", "a2"},
        "policies/b.md": {"b1"},
        "sources/c.md": {"c1"},
    }
    assert filled.unit_chunk_ids() == {"a1", "a2", "b1", "c1"}


@pytest.mark.slow
def test_adding_the_same_chunks_again_changes_nothing(filled: ChromaStore) -> None:
    filled.add(CHUNKS, CHUNK_VECTORS, UNIT_VECTORS)
    assert filled.count() == 4
    assert len(filled.unit_vectors(CHUNKS)) == 4
    filled.add([], np.zeros((0, 4), dtype=np.float32), [])
    assert filled.count() == 4


@pytest.mark.slow
def test_nearest_returns_ids_best_first_with_cosine_similarity(filled: ChromaStore) -> None:
    hits = filled.nearest(axis(0), 4)
    assert [cid for cid, _ in hits][:2] == ["a1", "a2"]
    scores = dict(hits)
    assert scores["a1"] == pytest.approx(1.0, abs=1e-4)
    assert scores["a2"] == pytest.approx(1 / np.sqrt(2), abs=1e-4)
    assert scores["b1"] == pytest.approx(0.0, abs=1e-4)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert len(filled.nearest(axis(0), 2)) == 2


@pytest.mark.slow
def test_nearest_honours_filters(filled: ChromaStore) -> None:
    assert [cid for cid, _ in filled.nearest(axis(0), 4, Filters(kind="article"))] == ["c1"]
    assert {cid for cid, _ in filled.nearest(axis(3), 4, Filters(kind="policy"))} == {"a1", "a2", "b1"}
    assert [cid for cid, _ in filled.nearest(axis(0), 4, Filters(doc_id="policies/b.md"))] == ["b1"]
    both = filled.nearest(axis(2), 4, Filters(kind="policy", doc_id="policies/a.md"))
    assert {cid for cid, _ in both} == {"a1", "a2"}
    assert filled.nearest(axis(0), 4, Filters(kind="article", doc_id="policies/a.md")) == []


@pytest.mark.slow
def test_unit_vectors_are_stacked_in_unit_order(filled: ChromaStore) -> None:
    got = filled.unit_vectors([POLICY_A, POLICY_B])
    assert set(got) == {"a1", "b1"}
    np.testing.assert_allclose(got["a1"], UNIT_VECTORS[0], atol=1e-6)
    np.testing.assert_allclose(got["b1"], UNIT_VECTORS[2], atol=1e-6)
    assert got["a1"].dtype == np.float32


@pytest.mark.slow
def test_a_chunk_missing_some_unit_vectors_is_left_out(filled: ChromaStore) -> None:
    longer = dataclasses.replace(ARTICLE_C, units=(*ARTICLE_C.units, Unit(0, 5, False)))
    assert set(filled.unit_vectors([longer, POLICY_A])) == {"a1"}
    unknown = dataclasses.replace(ARTICLE_C, chunk_id="nope")
    assert filled.unit_vectors([unknown]) == {}


@pytest.mark.slow
def test_delete_document_removes_its_chunks_and_unit_vectors_only(filled: ChromaStore) -> None:
    filled.delete_document("policies/a.md")
    assert filled.ids() == {"b1", "c1"}
    assert filled.unit_chunk_ids() == {"b1", "c1"}
    assert {cid for cid, _ in filled.nearest(axis(0), 4)} == {"b1", "c1"}
    assert filled.unit_vectors([POLICY_A]) == {}


@pytest.mark.slow
def test_delete_chunks_removes_those_chunks_and_their_unit_vectors(filled: ChromaStore) -> None:
    filled.delete_chunks(["a2", "c1"])
    assert filled.ids() == {"a1", "b1"}
    assert filled.unit_chunk_ids() == {"a1", "b1"}


@pytest.mark.slow
def test_reset_drops_everything_and_the_store_can_be_filled_again(filled: ChromaStore) -> None:
    filled.reset()
    assert not filled.exists()
    assert filled.count() == 0
    assert filled.unit_chunk_ids() == set()
    filled.add([ARTICLE_C], CHUNK_VECTORS[3:], UNIT_VECTORS[3:])
    assert filled.ids() == {"c1"}
    assert filled.exists()


@pytest.mark.slow
def test_an_index_built_with_another_model_is_refused(filled: ChromaStore, settings: Settings) -> None:
    other = ChromaStore(settings, "other-model")
    with pytest.raises(IndexMismatchError, match="toy-model") as raised:
        other.count()
    assert "other-model" in str(raised.value)
    with pytest.raises(IndexMismatchError):
        other.exists()


@pytest.mark.slow
def test_a_collection_rebuilt_behind_the_stores_back_is_reopened(
    filled: ChromaStore, settings: Settings
) -> None:
    assert filled.count() == 4  # its collections are open now
    elsewhere = ChromaStore(settings, "toy-model")  # e.g. another process rebuilding the index
    elsewhere.reset()
    elsewhere.add([ARTICLE_C], CHUNK_VECTORS[3:], UNIT_VECTORS[3:])
    assert filled.count() == 1
    assert filled.ids() == {"c1"}
    assert [cid for cid, _ in filled.nearest(axis(3), 4)] == ["c1"]


@pytest.mark.slow
def test_a_collection_deleted_behind_the_stores_back_is_made_again_on_write(filled: ChromaStore) -> None:
    assert filled.count() == 4
    filled.client.delete_collection(f"{filled.settings.collection}_chunks")
    assert filled.count() == 0
    filled.add([POLICY_B], CHUNK_VECTORS[2:3], UNIT_VECTORS[2:3])
    assert filled.ids() == {"b1"}


@pytest.mark.slow
def test_forgetting_the_shared_system_lets_a_new_store_reopen_the_database(
    filled: ChromaStore, settings: Settings
) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    path = str(settings.chroma_dir)
    assert path in SharedSystemClient._identifier_to_system
    _forget_shared_system(path)
    assert path not in SharedSystemClient._identifier_to_system
    assert path not in SharedSystemClient._identifier_to_refcount
    reopened = ChromaStore(settings, "toy-model")
    assert reopened.ids() == {"a1", "a2", "b1", "c1"}  # the data on disk is kept
    _forget_shared_system(path)
    _forget_shared_system(path)  # forgetting what is not there is harmless


@pytest.mark.slow
def test_an_embedded_client_has_no_http_session_to_limit(store: ChromaStore) -> None:
    assert _limit_waits(store.client, 1.0) is False


@pytest.mark.slow
def test_the_http_client_gets_the_configured_timeout(
    chroma: ChromaServer, make_settings, tmp_path: Path
) -> None:
    import httpx

    settings = make_settings(chroma_url=chroma.url, chroma_timeout_s=2.5)
    store = ChromaStore(settings, "toy-model")
    session = store.client._server._session  # type: ignore[attr-defined]
    assert isinstance(session, httpx.Client)
    assert session.timeout == httpx.Timeout(2.5)
    assert _limit_waits(store.client, 4.0) is True
    assert session.timeout == httpx.Timeout(4.0)
    store.add(CHUNKS, CHUNK_VECTORS, UNIT_VECTORS)
    assert store.count() == 4
    assert not (tmp_path / "data" / "chroma").exists()
