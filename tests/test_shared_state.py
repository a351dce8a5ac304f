"""State shared through a real PostgreSQL database (CMO_ASSISTANT_DATABASE_URL): the index's record, feedback with
its conversation, uploaded originals, and one writer at a time across replicas (the database's advisory lock)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from postgres_server import PostgresServer

from assistant.config import Settings
from assistant.errors import ConfigError, StoreError
from assistant.ingest.lock import WriterBusyError, writer_lock
from assistant.ingest.manifest import DocumentRecord, Manifest
from assistant.ingest.uploads import UploadFolder
from assistant.types import Answer
from assistant.web.feedback import FeedbackStore

POLICY = (
    b"---\ntitle: Lobby Piano\nkind: policy\n---\n# Lobby Piano\n\nThe lobby piano is tuned every month.\n"
)


@pytest.fixture()
def url(postgres: PostgresServer) -> str:
    return postgres.create_database()


def replica(tmp_path: Path, name: str, url: str) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    return Settings(data_dir=tmp_path / name, corpus_dir=corpus, database_url=url)


def test_the_index_record_is_shared_by_processes_with_different_data_dirs(url: str, tmp_path: Path) -> None:
    a, b = Manifest(url), Manifest(url)
    a.put(DocumentRecord("uploads/x.md", "X", "policy", "/srv/a/x.md", "abc", ("c1", "c2"), 1.0))
    a.bump_generation()
    assert b.committed_ids() == {"c1", "c2"} and b.generation == a.generation != ""
    b.put(DocumentRecord("uploads/x.md", "X2", "policy", "/srv/b/x.md", "def", ("c3",), 2.0))  # replaced
    assert a.documents()["uploads/x.md"].chunk_ids == ("c3",)
    b.delete("uploads/x.md")
    assert not a.has_documents()
    assert not (tmp_path / "manifest.sqlite3").exists()


def test_ratings_from_two_replicas_land_in_one_store_with_their_conversation(
    url: str, tmp_path: Path
) -> None:
    history = [
        {"role": "user", "content": "Who is the CMO?"},
        {"role": "assistant", "content": "Dr. Lee [1]."},
    ]
    answer = Answer("And the CNO?", "Not in the sources.", False, (), {})
    with FeedbackStore(url) as first, FeedbackStore(url) as second:
        ids = [first.record(answer, 1, history=history, user="a"), second.record(answer, 1, user="b")]
        assert ids[1] > ids[0]
        assert [(r.user, r.history) for r in first.list()] == [("b", ()), ("a", tuple(history))]
        report = second.export(tmp_path / "cases.jsonl")
    assert report.written == 2
    assert '"history": [{"role": "user", "content": "Who is the CMO?"}' in report.path.read_text("utf-8")


def test_an_upload_on_one_replica_reaches_the_others_uploads_folder_and_a_removal_too(
    url: str, tmp_path: Path
) -> None:
    a, b = replica(tmp_path, "a", url), replica(tmp_path, "b", url)
    folder_a, folder_b = UploadFolder(a, Manifest(url)), UploadFolder(b, Manifest(url))
    folder_a.save("piano.md", POLICY)
    assert folder_b.original("uploads/piano.md") == POLICY  # the viewer on b can show it
    folder_b.sync()
    assert (b.uploads_dir / "piano.md").read_bytes() == POLICY
    folder_b.remove("uploads/piano.md")
    folder_a.sync()
    assert not (a.uploads_dir / "piano.md").exists()
    assert folder_a.original("uploads/piano.md") is None


def test_uploads_a_data_dir_had_before_the_database_are_copied_into_it_not_deleted(
    url: str, tmp_path: Path
) -> None:
    before = replica(tmp_path, "old", url)
    before.uploads_dir.mkdir(parents=True)
    (before.uploads_dir / "kept.md").write_bytes(POLICY)
    UploadFolder(before, Manifest(url)).sync()
    assert (before.uploads_dir / "kept.md").read_bytes() == POLICY
    other = replica(tmp_path, "new", url)
    UploadFolder(other, Manifest(url)).sync()
    assert (other.uploads_dir / "kept.md").read_bytes() == POLICY


def test_a_second_replica_cannot_write_while_one_does(url: str, tmp_path: Path) -> None:
    # Different data dirs (hosts): the lock files do not meet; the database's lock does.
    inside, release = threading.Event(), threading.Event()

    def first_writer() -> None:
        with writer_lock(tmp_path / "a", url):
            inside.set()
            release.wait(30)

    thread = threading.Thread(target=first_writer)
    thread.start()
    try:
        assert inside.wait(30)
        with (
            pytest.raises(WriterBusyError, match="Another replica is writing"),
            writer_lock(tmp_path / "b", url),
        ):
            pass
    finally:
        release.set()
        thread.join()
    with writer_lock(tmp_path / "b", url):  # free again once the first is done
        pass


def test_an_unreachable_database_is_a_store_error_that_says_what_to_check(tmp_path: Path) -> None:
    from app_process import free_port

    url = f"postgresql://cmo:secret-password@127.0.0.1:{free_port()}/cmo"
    with pytest.raises(StoreError, match="CMO_ASSISTANT_DATABASE_URL") as caught:
        _ = Manifest(url).generation
    assert "secret-password" not in str(caught.value)


def test_a_database_url_of_another_kind_is_refused_and_a_password_is_never_printed() -> None:
    with pytest.raises(ConfigError, match="database_url must be a PostgreSQL or SQLite URL") as caught:
        Settings(database_url="mysql://cmo:topsecret@db/cmo")
    assert "topsecret" not in str(caught.value)
    settings = Settings(database_url="postgresql://cmo:topsecret@db/cmo")
    assert "topsecret" not in repr(settings)
    assert "topsecret" not in FeedbackStore.from_settings(settings).where
