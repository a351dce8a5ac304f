"""One writer per data dir: a second process writing the same index is refused at once, and nothing changes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from corpus_files import write_files

from assistant.ingest.lock import LOCK_NAME, WriterBusyError, writer_lock
from assistant.pipeline import Assistant

HOLD = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.seek(0); handle.truncate(); handle.write("process 4242"); handle.flush()
print("locked", flush=True)
sys.stdin.readline()
"""


@contextmanager
def held_by_another_process(data_dir: Path) -> Iterator[None]:
    """A real second process holding the data dir's write lock (as `cmo-assistant ingest` would)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir / LOCK_NAME)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.communicate("\n", timeout=10)


def test_a_second_writer_is_refused_and_told_who_writes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with (
        held_by_another_process(data),
        pytest.raises(WriterBusyError, match="process 4242 is writing"),
        writer_lock(data),
    ):
        pass
    with writer_lock(data):  # released: free again
        pass


@pytest.mark.slow
def test_ingest_and_upload_wait_for_no_one_and_change_nothing_while_another_process_writes(
    make_assistant, tmp_path: Path
) -> None:
    assistant: Assistant = make_assistant()
    write_files(
        assistant.settings.corpus_dir, {"policies/parking.md": "# Parking\n\nPhysicians park in Garage B.\n"}
    )
    assistant.ingest()
    before = assistant.manifest.documents()
    write_files(
        assistant.settings.corpus_dir, {"policies/badges.md": "# Badges\n\nEvery physician wears a badge.\n"}
    )
    with held_by_another_process(assistant.settings.data_dir):
        with pytest.raises(WriterBusyError, match="nothing was changed"):
            assistant.ingest()
        with pytest.raises(WriterBusyError):
            assistant.add_document("travel.md", b"# Travel\n\nConference travel needs approval.\n")
    assert assistant.manifest.documents() == before
    assert not (assistant.settings.uploads_dir / "travel.md").exists(), "a refused upload was saved"
    assert "policies/badges.md" in assistant.ingest().added  # the lock is free again
