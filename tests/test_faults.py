"""Faults: a damaged or missing data directory, a Chroma server that goes away, a full disk, kill -9 mid-ingest.

Real processes throughout: the CLI and the app run as subprocesses, the Chroma server is the ``chroma`` CLI, the
full disk is a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail with EFBIG instead of killing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from app_process import app_environment, clean_environment, free_port
from chroma_server import ChromaServer
from corpus_files import POLICIES, write_files
from killed_ingest import kill_ingest_when

from assistant.config import PROJECT_ROOT, Settings
from assistant.errors import StoreError
from assistant.pipeline import Assistant
from assistant.search.embeddings import Embedder

pytestmark = pytest.mark.slow

QUESTION = "Where does the CMO park?"
REBUILD = "cmo-assistant ingest --rebuild"


def assistant_over(data: Path, corpus: Path, embedder: Embedder, **settings: object) -> Assistant:
    return Assistant.build(Settings(data_dir=data, corpus_dir=corpus, **settings), embedder=embedder)  # type: ignore[arg-type]


def assert_answers_parking(assistant: Assistant) -> None:
    answer = assistant.ask(QUESTION)
    assert answer.answered and "lot seven" in answer.answer, answer.answer
    assert [c.doc_id for c in answer.citations][:1] == ["policies/parking.md"], answer.citations


def assert_store_matches_manifest(assistant: Assistant) -> None:
    """Every chunk the manifest lists is stored, nothing else is (no old versions, no duplicates)."""
    expected = {d: set(r.chunk_ids) for d, r in assistant.manifest.documents().items()}
    assert assistant.store.doc_chunk_ids() == {d: ids for d, ids in expected.items() if ids}
    assert assistant.store.ids() <= assistant.store.unit_chunk_ids(), "a chunk has no sentence vectors"


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(args: list[str], data: Path, corpus: Path, prelude: str = "", timeout: float = 300) -> Run:
    """``python -m assistant ARGS`` (or ``python -c PRELUDE`` then the CLI) as a user runs it."""
    env = clean_environment()
    env.update(
        CMO_ASSISTANT_DATA_DIR=str(data),
        CMO_ASSISTANT_CORPUS_DIR=str(corpus),
        CMO_ASSISTANT_QUERY_ENCODER="torch",  # no model export in these short-lived processes
        HF_HUB_OFFLINE="1",
    )
    code = f"{prelude}\nfrom assistant.cli import main\nraise SystemExit(main({args!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def file_size_limit(limit: int) -> str:
    """Code that makes every file write beyond ``limit`` bytes fail with EFBIG, as on a full disk."""
    return (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))"
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, Path]:
    """A corpus and its index, built once; each test works on a copy of the data dir."""
    root = tmp_path_factory.mktemp("faults-template")
    write_files(root / "corpus", POLICIES)
    assistant = assistant_over(root / "data", root / "corpus", embedder)
    assert len(assistant.ingest().added) == len(POLICIES)
    # Everything into the main SQLite file (as when the process exits), so damaging it damages the manifest.
    with closing(sqlite3.connect(root / "data" / "manifest.sqlite3")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return root / "corpus", root / "data"


@pytest.fixture()
def copy(template: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(template[0], corpus)
    shutil.copytree(template[1], data)
    return corpus, data


# -- damaged or missing data directory ------------------------------------------------------------------------
def overwrite(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def scribble_inside(path: Path) -> None:
    """Garbage over pages 2-4 of a SQLite file: the header still opens, the tables do not read."""
    with path.open("r+b") as handle:
        handle.seek(4096)
        handle.write(os.urandom(3 * 4096))


def truncate_half(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "manifest-overwritten": (lambda d: overwrite(d / "manifest.sqlite3"), REBUILD),
    "manifest-damaged-inside": (lambda d: scribble_inside(d / "manifest.sqlite3"), REBUILD),
    "manifest-truncated": (lambda d: truncate_half(d / "manifest.sqlite3"), REBUILD),
    "chroma-sqlite-overwritten": (lambda d: overwrite(d / "chroma" / "chroma.sqlite3"), REBUILD),
    "chroma-sqlite-damaged-inside": (lambda d: scribble_inside(d / "chroma" / "chroma.sqlite3"), REBUILD),
    "chroma-sqlite-truncated": (lambda d: truncate_half(d / "chroma" / "chroma.sqlite3"), REBUILD),
    "chroma-folder-deleted": (lambda d: shutil.rmtree(d / "chroma"), REBUILD),
    "data-dir-missing": (lambda d: shutil.rmtree(d), "cmo-assistant ingest"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_data_dir_gets_a_clear_error_and_rebuild_repairs_it(
    damage: str, copy: tuple[Path, Path], embedder: Embedder
) -> None:
    corpus, data = copy
    spoil, advice = DAMAGE[damage]
    spoil(data)

    asked = run(["ask", QUESTION], data, corpus)
    assert asked.code == 1, asked.out + asked.err
    assert asked.err.startswith("error: ") and advice in asked.err, asked.err
    assert "Traceback" not in asked.err, asked.err

    repaired = assistant_over(data, corpus, embedder)
    report = repaired.ingest(rebuild=True)
    assert sorted(report.added) == sorted(POLICIES), report.summary()
    assert_answers_parking(repaired)
    assert_store_matches_manifest(repaired)


def test_rebuild_through_the_cli_repairs_a_damaged_vector_store(
    copy: tuple[Path, Path], embedder: Embedder
) -> None:
    corpus, data = copy
    overwrite(data / "chroma" / "chroma.sqlite3")
    ingest = run(["ingest", "--quiet"], data, corpus)
    assert ingest.code == 1 and REBUILD in ingest.err and "Traceback" not in ingest.err, ingest.err

    rebuilt = run(["ingest", "--rebuild", "--quiet"], data, corpus)
    assert rebuilt.code == 0, rebuilt.err
    assert f"{len(POLICIES)} added" in rebuilt.out, rebuilt.out
    assistant = assistant_over(data, corpus, embedder)
    assert_answers_parking(assistant)
    assert_store_matches_manifest(assistant)


@pytest.mark.parametrize("damage", ["manifest-overwritten", "chroma-sqlite-overwritten"])
def test_the_app_refuses_to_start_on_a_damaged_index_and_says_how_to_rebuild(
    damage: str, copy: tuple[Path, Path]
) -> None:
    _, data = copy
    DAMAGE[damage][0](data)
    started = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        cwd=PROJECT_ROOT,
        env=app_environment(data, free_port()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 1, started.stdout + started.stderr
    assert started.stderr.startswith("error: ") and REBUILD in started.stderr, started.stderr
    assert "Traceback" not in started.stderr, started.stderr


# -- a Chroma server that goes away ---------------------------------------------------------------------------
def serving_through(
    chroma: ChromaServer, tmp_path: Path, embedder: Embedder, **settings: object
) -> Assistant:
    """An assistant over POLICIES with its index on the Chroma server, ingested and answering."""
    write_files(tmp_path / "corpus", POLICIES)
    assistant = assistant_over(
        tmp_path / "data", tmp_path / "corpus", embedder, chroma_url=chroma.url, **settings
    )
    assistant.ingest()
    assert_answers_parking(assistant)
    return assistant


def test_a_chroma_server_that_goes_away_gives_clear_errors_and_is_used_again_when_back(
    chroma: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    assistant = serving_through(chroma, tmp_path, embedder)

    chroma.kill()
    write_files(
        tmp_path / "corpus", {"policies/badges.md": "# Badges\n\nEvery physician wears a photo badge.\n"}
    )
    # Questions go on from the passages and vectors this process holds in memory (a small index is searched
    # there); what must write to the server fails with a clear error.
    assert assistant.ask(QUESTION).answered
    with pytest.raises(StoreError) as info:
        assistant.ingest()
    message = str(info.value)
    assert f"Cannot reach the Chroma server at {chroma.url}" in message, message
    assert "chroma run --host" in message, message

    chroma.start()  # same port, same data: the same assistant object carries on
    assert_answers_parking(assistant)
    report = assistant.ingest()
    assert report.added == ["policies/badges.md"], report.summary()
    assert_store_matches_manifest(assistant)


def raised_within(seconds: float, attempt: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run ``attempt`` in a thread; what it raised and how long it took, or (None, inf) if it still runs."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            attempt()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return None, float("inf")
    return outcome[0], time.monotonic() - started


def test_a_chroma_server_that_stops_answering_gives_a_clear_error_and_is_used_again_when_it_answers(
    chroma: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    assistant = serving_through(chroma, tmp_path, embedder, chroma_timeout_s=2.0)

    write_files(
        tmp_path / "corpus", {"policies/badges.md": "# Badges\n\nEvery physician wears a photo badge.\n"}
    )
    chroma.pause()
    try:
        assert assistant.ask(QUESTION).answered  # from the index held in memory: the server is not asked
        error, took = raised_within(60, assistant.ingest)
    finally:
        chroma.resume()
    assert took != float("inf"), "the ingest still waited for the stopped server after 60 s"
    assert isinstance(error, StoreError), error
    assert f"The Chroma server at {chroma.url} did not answer within 2 s" in str(error), error
    assert "CMO_ASSISTANT_CHROMA_TIMEOUT_S" in str(error), error

    assert_answers_parking(assistant)  # the same assistant carries on once the server answers again


def test_a_chroma_server_that_never_answers_fails_the_first_request_clearly(
    tmp_path: Path, embedder: Embedder
) -> None:
    # Something listening on the port (a server stuck at start-up, a wrong service) that never replies.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        write_files(tmp_path / "corpus", POLICIES)
        assistant = assistant_over(
            tmp_path / "data", tmp_path / "corpus", embedder, chroma_url=url, chroma_timeout_s=1.0
        )
        error, took = raised_within(60, assistant.ingest)
    assert took != float("inf"), "the ingest still waited for the silent server after 60 s"
    assert isinstance(error, StoreError), error
    assert f"The Chroma server at {url} did not answer within 1 s" in str(error), error
    assert not (tmp_path / "data" / "manifest.sqlite3").exists() or not assistant.manifest.documents()


def test_a_rebuild_by_another_process_does_not_break_a_running_assistant(
    chroma: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    running = serving_through(chroma, tmp_path, embedder)

    other = assistant_over(tmp_path / "data", tmp_path / "corpus", embedder, chroma_url=chroma.url)
    other.ingest(rebuild=True)  # drops and re-creates the collections the running one has open

    assert_answers_parking(running)


# -- a full disk ----------------------------------------------------------------------------------------------
BIG_POLICY = "# Photo Badges\n\n" + "\n\n".join(
    f"Rule {i}: physician badge {i} is issued by security office {i % 9} and renewed every {i % 5 + 1} years."
    for i in range(30)
)


def documents(data: Path) -> list[tuple[str, ...]]:
    with closing(sqlite3.connect(data / "manifest.sqlite3")) as db:
        return db.execute("SELECT doc_id, sha256, chunk_ids FROM documents ORDER BY doc_id").fetchall()


def test_an_ingest_on_a_full_disk_fails_clearly_and_keeps_the_previous_index(
    copy: tuple[Path, Path], embedder: Embedder
) -> None:
    corpus, data = copy
    write_files(corpus, {"policies/badges.md": BIG_POLICY})
    before = {d: r.sha256 for d, r in assistant_over(data, corpus, embedder).manifest.documents().items()}

    limit = (data / "chroma" / "chroma.sqlite3").stat().st_size  # the vector store cannot grow
    full = run(["ingest", "--quiet"], data, corpus, prelude=file_size_limit(limit))
    assert full.code == 1, full.out + full.err
    assert full.err.startswith("error: ") and "the disk is full or failing" in full.err, full.err
    assert "Traceback" not in full.err, full.err

    after = assistant_over(data, corpus, embedder)
    assert {d: r.sha256 for d, r in after.manifest.documents().items()} == before
    assert_answers_parking(after)
    badge = after.ask("Who issues physician badge 7?")
    assert "policies/badges.md" not in {c.doc_id for c in badge.citations}, badge.answer

    report = after.ingest()  # space again: the interrupted ingest is finished
    assert report.added == ["policies/badges.md"], report.summary()
    assert_store_matches_manifest(after)


def test_an_upload_on_a_full_disk_fails_clearly_and_leaves_no_partial_file(copy: tuple[Path, Path]) -> None:
    corpus, data = copy
    before = documents(data)
    upload = (
        "from assistant import Assistant\n"
        "from assistant.errors import AssistantError\n"
        "try:\n"
        f"    Assistant.from_env().add_document('badges.md', {BIG_POLICY.encode()!r} * 40)\n"
        "except AssistantError as exc:\n"
        "    print(exc)\n"
        "    raise SystemExit(1)\n"
    )
    code = f"{file_size_limit(64 * 1024)}\n{upload}"
    env = clean_environment()
    env.update(CMO_ASSISTANT_DATA_DIR=str(data), CMO_ASSISTANT_CORPUS_DIR=str(corpus), HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "badges.md could not be saved" in done.stdout and "Free some disk space" in done.stdout, (
        done.stdout
    )
    leftovers = list((data / "uploads").rglob("*")) if (data / "uploads").exists() else []
    assert leftovers == [], f"a failed upload left files behind: {leftovers}"
    assert documents(data) == before


# -- kill -9 during an update ---------------------------------------------------------------------------------
def test_kill_during_an_update_then_ingest_leaves_only_the_new_versions(
    tmp_path: Path, embedder: Embedder
) -> None:
    """tests/test_indexing.py kills a first ingest; here every file changes, so a half-done run holds old and new
    versions side by side until the next ingest sorts them out."""
    count = 24
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    old = {
        f"policies/p{i:02d}.md": f"# Policy {i}\n\nCommittee {i} meets in room {100 + i}.\n"
        for i in range(count)
    }
    new = {
        f"policies/p{i:02d}.md": f"# Policy {i}\n\nCommittee {i} now meets in hall {500 + i}.\n"
        for i in range(count)
    }
    write_files(corpus, old)
    assistant_over(data, corpus, embedder).ingest()
    write_files(corpus, new)
    new_shas = {hashlib.sha256(text.encode()).hexdigest() for text in new.values()}

    env = app_environment(data, free_port())
    env.update(CMO_ASSISTANT_CORPUS_DIR=str(corpus), CMO_ASSISTANT_QUERY_ENCODER="torch")
    updated = kill_ingest_when(
        env,
        data / "manifest.sqlite3",
        lambda db: sum(row[0] in new_shas for row in db.execute("SELECT sha256 FROM documents")),
        at=count // 3,
    )
    assert updated < count, "every document was updated before the kill"

    assistant = assistant_over(data, corpus, embedder)
    report = assistant.ingest()
    assert report.repaired and not report.skipped, report.summary()
    records = assistant.manifest.documents()
    assert {r.sha256 for r in records.values()} == new_shas
    assert_store_matches_manifest(assistant)
    texts = [c.text for c in assistant.store.all_chunks()]
    assert len(texts) == count, "more chunks than documents: an old version or a duplicate is left"
    assert not [t for t in texts if "room" in t], "an old version is still indexed"
    answer = assistant.ask("Where does committee 3 meet?")
    assert "hall 503" in answer.answer and "room 103" not in answer.answer, answer.answer
