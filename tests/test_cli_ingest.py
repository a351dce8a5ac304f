"""``python -m assistant ingest`` and ``stats`` as a user runs them: real process, real model, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from app_process import clean_environment

from assistant.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str, corpus: Path, data: Path) -> Run:
    env = clean_environment()
    env.update(CMO_ASSISTANT_DATA_DIR=str(data), CMO_ASSISTANT_CORPUS_DIR=str(corpus), HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass
class Session:
    corpus: Path
    data: Path
    first: Run
    with_bad_file: Run
    stats: Run
    bad_file: Path


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One index built through the CLI: a clean ingest, then one with a broken file added, then stats."""
    root = tmp_path_factory.mktemp("cli")
    corpus, data = root / "corpus", root / "data"
    (corpus / "policies").mkdir(parents=True)
    (corpus / "sources").mkdir()
    (corpus / "policies" / "leave.md").write_text(
        "---\ntitle: Parental Leave\nkind: policy\n---\n\n## Eligibility\n\n"
        "Employees are eligible for parental leave after ninety days.\n",
        encoding="utf-8",
    )
    (corpus / "sources" / "cmo.md").write_text(
        "# The CMO Role\n\nA chief medical officer leads the medical staff.\n", encoding="utf-8"
    )
    first = run_cli("ingest", "--quiet", corpus=corpus, data=data)
    bad = corpus / "policies" / "scan.txt"
    bad.write_bytes(b"\x00\x01binary scan")
    with_bad_file = run_cli("ingest", "--quiet", corpus=corpus, data=data)
    stats = run_cli("stats", "--json", corpus=corpus, data=data)
    return Session(corpus, data, first, with_bad_file, stats, bad)


def test_ingest_exits_zero_with_a_summary(session: Session) -> None:
    assert session.first.code == 0, session.first.err
    assert "2 added, 0 updated, 0 removed, 0 unchanged" in session.first.out
    assert (session.data / "manifest.sqlite3").is_file()


def test_ingest_with_a_bad_file_exits_3_and_names_the_file(session: Session) -> None:
    run = session.with_bad_file
    assert run.code == 3, run.out + run.err
    assert f"skipped {session.bad_file}" in run.out
    assert "NUL bytes" in run.out
    assert "0 added, 0 updated, 0 removed, 2 unchanged" in run.out


def test_stats_json_describes_the_index(session: Session) -> None:
    assert session.stats.code == 0, session.stats.err
    stats = json.loads(session.stats.out)
    assert stats["documents"] == 2
    assert stats["chunks"] == 2
    assert stats["kinds"] == {"article": 1, "policy": 1}
    assert stats["embedding_model"] == "all-mpnet-base-v2"
    assert stats["last_ingest"]
    assert {d["doc_id"] for d in stats["per_document"]} == {"policies/leave.md", "sources/cmo.md"}


def test_stats_before_any_ingest_says_never(tmp_path: Path) -> None:
    run = run_cli("stats", corpus=tmp_path / "corpus", data=tmp_path / "data")
    assert run.code == 0, run.err
    assert "documents:       0" in run.out
    assert "never (run `cmo-assistant ingest`)" in run.out


def test_source_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "leave.md"
    not_a_folder.write_text("# Leave\n\nText.\n", encoding="utf-8")
    (tmp_path / "corpus").mkdir()
    for source in (not_a_folder, tmp_path / "missing"):
        run = run_cli(
            "ingest", "--quiet", "--source", str(source), corpus=tmp_path / "corpus", data=tmp_path / "data"
        )
        assert run.code != 0
        assert f"--source {source} is not a folder" in run.err
        assert "Traceback" not in run.err
    assert not (tmp_path / "data" / "manifest.sqlite3").exists()
