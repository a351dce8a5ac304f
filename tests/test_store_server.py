"""The assistant against a real Chroma server started with the ``chroma`` CLI, and without one."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import StoreError

pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).with_name("chroma")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [
            str(CHROMA),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--path",
            str(tmp_path / "server-data"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None:
                pytest.fail(f"chroma exited with {proc.returncode}: {(tmp_path / 'chroma.log').read_text()}")
            if time.monotonic() > deadline:
                pytest.fail("the chroma server did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_ingest_and_ask_through_a_chroma_server(chroma_server: str, make_assistant, tmp_path: Path) -> None:
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
