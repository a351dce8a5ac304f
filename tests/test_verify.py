"""``cmo-assistant stats --verify`` reads every stored vector back (passages and sentence vectors) and names the
documents with missing or unreadable ones, exit 1 and the rebuild advice; a sound index passes with exit 0."""

from __future__ import annotations

import json

import numpy as np
import pytest
from corpus_files import POLICIES, write_files

from assistant.cli import main
from assistant.pipeline import Assistant
from assistant.search.chroma import ChromaStore

pytestmark = pytest.mark.slow


@pytest.fixture()
def indexed(make_assistant, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    assistant: Assistant = make_assistant()
    write_files(assistant.settings.corpus_dir, POLICIES)
    assistant.ingest()
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(assistant.settings.data_dir))
    monkeypatch.setenv("CMO_ASSISTANT_CORPUS_DIR", str(assistant.settings.corpus_dir))
    monkeypatch.setenv("CMO_ASSISTANT_EXAMPLE_POLICIES", "always")
    return assistant


def chunk_of(assistant: Assistant, doc_id: str) -> str:
    return assistant.manifest.documents()[doc_id].chunk_ids[0]


def test_a_sound_index_verifies_with_exit_0(indexed: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--verify"]) == 0
    out = capsys.readouterr().out
    assert f"of {len(POLICIES)} documents read back; all readable." in out


def test_missing_and_unreadable_vectors_are_named_by_document_and_rebuild_repairs_them(
    indexed: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    store = indexed.store
    assert isinstance(store, ChromaStore)
    parking, leave, role = (chunk_of(indexed, d) for d in POLICIES)
    store.delete_chunks([parking])  # the passage and its sentence vectors gone
    store._call("units", "delete", where={"chunk_id": leave})  # only the sentence vectors gone
    dimension = len(store.chunk_vectors([role])[role])
    store._call("chunks", "update", ids=[role], embeddings=np.zeros((1, dimension)))  # a vector of zeros
    assert main(["stats", "--verify"]) == 1
    captured = capsys.readouterr()
    assert "3 documents damaged" in captured.out
    assert "policies/parking.md: 1 of 1 passages missing" in captured.out
    assert "policies/leave.md: 1 passages missing sentence vectors" in captured.out
    assert "sources/cmo-role.md: 1 of 1 passage vectors unreadable" in captured.out
    assert "cmo-assistant ingest --rebuild" in captured.err
    assert main(["stats", "--json", "--verify"]) == 1
    report = json.loads(capsys.readouterr().out)["verify"]
    assert not report["ok"] and {d["doc_id"] for d in report["damaged"]} == set(POLICIES)
    indexed.ingest(rebuild=True)
    assert main(["stats", "--verify"]) == 0
    assert "all readable" in capsys.readouterr().out
