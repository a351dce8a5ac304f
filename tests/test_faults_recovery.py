"""Faults while serving (SECURITY.md, case 11): the vector store deleted under a running assistant and rebuilt by
another process, an upload saved but never indexed (the app killed in between), a disk that fills up under
Chroma's embedded database, a Chroma URL holding a password, two identical uploads at once.

Real components: the bundled model, embedded Chroma, the CLI as a subprocess, a real full disk (a small tmpfs,
when this machine lets the tests mount one).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_files import POLICIES, write_files
from openai_stub import free_port
from test_faults import QUESTION, assert_answers_parking, assistant_over, run

from assistant.cli import main
from assistant.config import Settings, redact_credentials
from assistant.errors import IndexStateError, StoreError
from assistant.search.embeddings import Embedder
from assistant.web.ui import DocumentHandlers

pytestmark = pytest.mark.slow

BADGES = "# Badges\n\nLost identification badges are replaced by the security office on the second floor.\n"


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    write_files(tmp_path / "corpus", POLICIES)
    return tmp_path / "corpus"


def test_a_store_deleted_while_serving_is_used_again_after_a_rebuild_by_the_cli(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    serving = assistant_over(data, corpus, embedder)
    serving.ingest()
    assert_answers_parking(serving)
    shutil.rmtree(data / "chroma")
    # a question meanwhile (the app keeps serving): an error that says to rebuild, or an answer from what the
    # open database still holds
    try:
        serving.ask(QUESTION)
    except (StoreError, IndexStateError) as exc:
        assert "cmo-assistant ingest" in str(exc), exc
    write_files(corpus, {"policies/badges.md": BADGES})  # a policy added before the rebuild
    rebuilt = run(["ingest", "--rebuild"], data, corpus)
    assert rebuilt.code == 0, rebuilt.err
    # the same object, not restarted: it reads the rebuilt store, the new policy included
    assert_answers_parking(serving)
    answer = serving.ask("Who replaces lost identification badges?")
    assert answer.answered and answer.citations[0].doc_id == "policies/badges.md", answer.answer
    assert serving.store.count() == len(POLICIES) + 1


def test_an_upload_saved_but_never_indexed_is_indexed_at_start(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    first = assistant_over(data, corpus, embedder)
    first.ingest()
    # What a kill -9 between saving and indexing leaves: the file in the uploads folder, not in the index.
    first.uploads.save("badges.md", BADGES.encode())
    restarted = assistant_over(data, corpus, embedder)
    assert restarted.uploads.unindexed() == ["uploads/badges.md"]
    report = restarted.ensure_index()  # what the app runs at start
    assert report is not None and report.added == ["uploads/badges.md"]
    answer = restarted.ask("Who replaces lost identification badges?")
    assert answer.answered and answer.citations[0].doc_id == "uploads/badges.md"
    assert restarted.ensure_index() is None  # nothing left to do at the next start


def test_two_identical_uploads_at_once_add_it_once_and_tell_the_second(
    tmp_path: Path, corpus: Path, embedder: Embedder
) -> None:
    assistant = assistant_over(tmp_path / "data", corpus, embedder)
    assistant.ingest()
    handlers = DocumentHandlers(assistant, None)
    upload = tmp_path / "badges.md"  # gradio's copy of the file, sent twice
    upload.write_text(BADGES)
    start = threading.Barrier(2)
    statuses: list[str] = []

    def send() -> None:
        start.wait()
        status, *_ = handlers.upload([str(upload)], None)
        statuses.append(status)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    added, again = sorted(statuses)
    assert added.startswith("badges.md: added and searchable now."), statuses
    assert again == "badges.md: already there, with the same content; nothing was changed.", statuses
    assert list(assistant.manifest.documents()).count("uploads/badges.md") == 1


# -- credentials in a Chroma URL ------------------------------------------------------------------------------
SECRET = "s3cret-Pa55"


def test_redact_credentials_hides_user_and_password_of_every_url() -> None:
    text = (
        f"at http://admin:{SECRET}@db.local:8000/x and https://tok@h/ but not mail@example.org or http://h/"
    )
    redacted = redact_credentials(text)
    assert SECRET not in redacted and "tok@" not in redacted
    assert "http://***@db.local:8000/x" in redacted and "https://***@h/" in redacted
    assert "mail@example.org" in redacted and "http://h/" in redacted


def test_a_password_in_the_chroma_url_is_never_shown(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://admin:{SECRET}@127.0.0.1:{free_port()}"
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, chroma_url=url)
    assert SECRET not in repr(settings)
    assert settings.store_location == f"http://***@127.0.0.1:{url.rsplit(':', 1)[1]}"
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CMO_ASSISTANT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("CMO_ASSISTANT_CHROMA_URL", url)
    shown = "http://***@127.0.0.1"
    for command, code, where in (
        (["ingest"], 1, "err"),
        (["stats", "--json"], 0, "out"),
        (["ask", QUESTION], 1, ""),
    ):
        assert main(command) == code, command
        out, err = capsys.readouterr()
        assert SECRET not in out + err, command
        assert shown in {"err": err, "out": out, "": shown}[where], (command, out, err)


# -- a full disk under the embedded database ------------------------------------------------------------------
@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs (a real disk that fills up), or skip where this machine lets no test mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write until the disk is full; returns the filler file."""
    filler = disk / "filler"
    block = b"\0" * (1024 * 1024)
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError:
            pass
    return filler


def test_chromas_full_disk_is_recognised_and_the_next_ingest_finishes(
    tmp_path: Path, corpus: Path, embedder: Embedder, small_disk: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "chroma").symlink_to(small_disk, target_is_directory=True)
    assistant = assistant_over(data, corpus, embedder)
    assistant.ingest()
    filler = fill(small_disk)
    write_files(corpus, {"policies/badges.md": BADGES * 400})
    with pytest.raises(StoreError) as failed:
        assistant.ingest()
    message = str(failed.value)
    assert "disk is full" in message and "Free some space" in message, message
    assert "rebuild" not in message
    assert "policies/badges.md" not in assistant.manifest.documents()
    filler.unlink()
    report = assistant.ingest()  # the same Assistant, as the app would retry the upload
    assert "policies/badges.md" in report.added + report.updated
    assert_answers_parking(assistant)
