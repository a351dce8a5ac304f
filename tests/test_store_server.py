"""The assistant against a real Chroma server started with the ``chroma`` CLI, and without one."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_process import free_port
from chroma_server import ChromaServer

from assistant.errors import StoreError

pytestmark = pytest.mark.slow


def write_corpus(corpus: Path) -> None:
    (corpus / "policies").mkdir(parents=True, exist_ok=True)
    (corpus / "policies" / "parking.md").write_text(
        "# Parking\n\nThe CMO parks in lot seven next to the clinic entrance. Visitors park in lot two.\n",
        encoding="utf-8",
    )
    (corpus / "policies" / "leave.md").write_text(
        "# Parental Leave\n\nEmployees are eligible for parental leave after ninety days of service.\n",
        encoding="utf-8",
    )


def test_ingest_and_ask_through_a_chroma_server(chroma: ChromaServer, make_assistant, tmp_path: Path) -> None:
    chroma_server = chroma.url
    assistant = make_assistant(chroma_url=chroma_server)
    write_corpus(assistant.settings.corpus_dir)
    report = assistant.ingest()
    assert sorted(report.added) == ["policies/leave.md", "policies/parking.md"]
    assert report.chunks_total == 2
    assert not assistant.settings.chroma_dir.exists(), "nothing is written to the embedded database"
    assert assistant.stats()["store"] == chroma_server

    answer = assistant.ask("Where does the CMO park?")
    assert answer.answered, answer.answer
    assert answer.citations
    assert answer.citations[0].doc_id == "policies/parking.md"
    assert "lot seven" in answer.answer

    again = assistant.ingest()
    assert again.chunks_embedded == 0 and len(again.unchanged) == 2


def test_unreachable_server_says_how_to_start_it(make_assistant) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assistant = make_assistant(chroma_url=url)
    write_corpus(assistant.settings.corpus_dir)
    with pytest.raises(StoreError) as info:
        assistant.ingest()
    message = str(info.value)
    assert f"Cannot reach the Chroma server at {url}" in message
    assert "chroma run --host" in message
    assert "CMO_ASSISTANT_CHROMA_URL" in message
