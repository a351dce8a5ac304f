"""The ingest manifest (SQLite) on a tmp file: documents, committed passage ids, generations, metadata."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.errors import StoreError
from assistant.ingest.manifest import DocumentRecord, Manifest


def record(doc_id: str, chunk_ids: tuple[str, ...] = ("c1", "c2"), sha: str = "0" * 64) -> DocumentRecord:
    return DocumentRecord(doc_id, doc_id.title(), "policy", f"/corpus/{doc_id}", sha, chunk_ids, 1700000000.5)


@pytest.fixture()
def manifest(tmp_path: Path) -> Manifest:
    return Manifest(tmp_path / "data" / "manifest.sqlite3")


def test_a_new_manifest_is_empty(manifest: Manifest) -> None:
    assert manifest.documents() == {}
    assert manifest.committed_ids() == set()
    assert not manifest.has_documents()
    assert manifest.generation == ""
    assert manifest.path.exists()  # made on first use, folders included


def test_put_records_come_back_whole_sorted_by_id(manifest: Manifest) -> None:
    b, a = record("policies/b.md", ("b1",)), record("policies/a.md", ("a1", "a2"))
    manifest.put(b)
    manifest.put(a)
    docs = manifest.documents()
    assert list(docs) == ["policies/a.md", "policies/b.md"]
    assert docs["policies/a.md"] == a
    assert docs["policies/b.md"] == b
    assert manifest.has_documents()


def test_put_replaces_the_record_of_the_same_document(manifest: Manifest) -> None:
    manifest.put(record("policies/a.md", ("old",)))
    manifest.put(record("policies/a.md", ("new1", "new2"), sha="f" * 64))
    docs = manifest.documents()
    assert len(docs) == 1
    assert docs["policies/a.md"].chunk_ids == ("new1", "new2")
    assert docs["policies/a.md"].sha256 == "f" * 64


def test_committed_ids_are_every_passage_of_every_recorded_document(manifest: Manifest) -> None:
    manifest.put(record("policies/a.md", ("a1", "a2")))
    manifest.put(record("sources/b.md", ("b1",)))
    assert manifest.committed_ids() == {"a1", "a2", "b1"}
    manifest.delete("policies/a.md")
    assert manifest.committed_ids() == {"b1"}
    manifest.delete("sources/b.md")
    assert not manifest.has_documents()


def test_a_record_survives_a_new_manifest_object(manifest: Manifest) -> None:
    manifest.put(record("policies/a.md"))
    manifest.set_meta(embedding_model="toy")
    again = Manifest(manifest.path)
    assert again.documents() == manifest.documents()
    assert again.get_meta("embedding_model") == "toy"


def test_each_bump_makes_a_new_generation(manifest: Manifest) -> None:
    manifest.bump_generation()
    first = manifest.generation
    assert first
    time.sleep(0.001)
    manifest.bump_generation()
    assert manifest.generation != first
    assert Manifest(manifest.path).generation == manifest.generation


def test_the_generation_read_every_question_follows_other_writers_and_a_replaced_file(
    manifest: Manifest,
) -> None:
    reader = Manifest(manifest.path)  # another process, say the app, asking questions
    manifest.bump_generation()
    assert reader.generation == manifest.generation  # read through the engine, then a kept connection
    for _ in range(2):
        time.sleep(0.001)
        manifest.bump_generation()
        assert reader.generation == manifest.generation
    # the file deleted and made again (a damaged manifest cleared by a rebuild in another process)
    manifest.clear()
    assert reader.generation == ""
    manifest.bump_generation()
    assert reader.generation == manifest.generation


def test_meta_values_default_and_overwrite(manifest: Manifest) -> None:
    assert manifest.get_meta("signature") == ""
    assert manifest.get_meta("signature", "none") == "none"
    manifest.set_meta(signature="a", in_progress="1")
    manifest.set_meta(signature="b")
    assert manifest.get_meta("signature") == "b"
    assert manifest.get_meta("in_progress") == "1"


def test_clear_forgets_documents_and_meta(manifest: Manifest) -> None:
    manifest.put(record("policies/a.md"))
    manifest.bump_generation()
    manifest.clear()
    assert manifest.documents() == {}
    assert manifest.generation == ""


def test_a_damaged_file_is_a_store_error_saying_to_rebuild(manifest: Manifest) -> None:
    manifest.path.parent.mkdir(parents=True)
    manifest.path.write_bytes(b"this is not a database " * 200)
    with pytest.raises(StoreError, match="ingest --rebuild"):
        manifest.documents()


def test_clear_replaces_a_damaged_file_with_an_empty_one(manifest: Manifest) -> None:
    manifest.path.parent.mkdir(parents=True)
    manifest.path.write_bytes(b"this is not a database " * 200)
    manifest.clear()
    assert manifest.documents() == {}
    manifest.put(record("policies/a.md"))
    assert manifest.has_documents()
