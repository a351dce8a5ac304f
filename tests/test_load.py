"""Questions while documents are being ingested: no answer is built from a half-ingested document.

"Half-ingested" concretely: the ingest writes a document's chunks (and their sentence vectors) to the store first
and commits its manifest record last. Between the two, the store holds chunks the manifest does not list. The
assistant only answers from chunks the manifest has committed, so a question asked in that window is answered
from the index as it was before (the old version of an updated document, nothing of a new one).

Two tiers: a deterministic one that pauses an ingest exactly in that window, and a load test through the running
app (16 users asking at once while an admin uploads a document).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.manifest import DocumentRecord
from assistant.pipeline import Assistant
from assistant.types import Answer

pytestmark = pytest.mark.slow

BASE = {
    "policies/parking.md": "# Parking\n\nThe CMO parks in lot seven next to the clinic entrance.\n",
    "policies/leave.md": "# Parental Leave\n\nEmployees become eligible for parental leave after ninety days.\n",
    "sources/cmo-role.md": "# The CMO Role\n\nA chief medical officer leads the medical staff and clinical quality.\n",
}
BADGES = "policies/badges.md"
BADGES_TEXT = (
    "# Photo Badges\n\nEvery physician wears a photo badge issued by the security office on level two.\n\n"
    "A lost photo badge is reported to the security office within one hour.\n"
)
BADGE_QUESTION = "Who issues the photo badge that every physician wears?"
LEAVE_UPDATED = (
    "# Parental Leave\n\nEmployees become eligible for parental leave after ninety days.\n\n"
    "Parental leave requests are approved by the department chair within ten business days.\n"
)
LEAVE_QUESTION = "Who approves parental leave requests?"


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


class PausedIngest:
    """Run ``assistant.ingest()`` in a thread that stops right before the manifest commits ``doc_id``: the
    document's chunks are in the store by then, its record is not in the manifest."""

    def __init__(self, assistant: Assistant, doc_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paused, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        manifest = assistant.manifest
        commit = manifest.put

        def put(record: DocumentRecord) -> None:
            if record.doc_id == doc_id:
                self.paused.set()
                self.release.wait(60)
            commit(record)

        monkeypatch.setattr(manifest, "put", put)
        self.thread = threading.Thread(target=self._run, args=(assistant,), daemon=True)

    def _run(self, assistant: Assistant) -> None:
        try:
            assistant.ingest()
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def __enter__(self) -> PausedIngest:
        self.thread.start()
        assert self.paused.wait(120), f"the ingest never reached the manifest commit ({self.error!r})"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(120)
        assert not self.thread.is_alive(), "the ingest did not finish after it was released"
        assert self.error is None, f"the ingest failed: {self.error!r}"


def cited_docs(answer: Answer) -> set[str]:
    return {c.doc_id for c in answer.citations}


@pytest.fixture()
def indexed(make_assistant) -> Assistant:
    assistant = make_assistant()
    write(assistant.settings.corpus_dir, BASE)
    assistant.ingest()
    return assistant


def test_a_new_document_is_not_cited_before_the_manifest_commits_it(
    indexed: Assistant, make_assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = indexed
    assert warm.ask("Where does the CMO park?").answered  # BM25 and caches built before the ingest starts
    write(warm.settings.corpus_dir, {BADGES: BADGES_TEXT})

    with PausedIngest(warm, BADGES, monkeypatch):
        assert warm.store.ids(BADGES), "the store does not hold the new document's chunks yet: no window"
        assert BADGES not in warm.manifest.documents()
        # A reader that was running before the ingest, and one that starts during it (its BM25 is built now).
        cold = make_assistant(data_dir=warm.settings.data_dir, corpus_dir=warm.settings.corpus_dir)
        for reader in (warm, cold):
            answer = reader.ask(BADGE_QUESTION)
            assert BADGES not in cited_docs(answer), f"cited a document not committed yet: {answer.answer}"
            assert "security office" not in answer.answer, answer.answer

    after = warm.ask(BADGE_QUESTION)
    assert after.answered and BADGES in cited_docs(after), after.answer
    assert "security office" in after.answer


def test_an_updated_document_answers_from_its_committed_version_until_the_new_one_commits(
    indexed: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = indexed
    assistant.ask(LEAVE_QUESTION)
    committed = set(assistant.manifest.documents()["policies/leave.md"].chunk_ids)
    write(assistant.settings.corpus_dir, {"policies/leave.md": LEAVE_UPDATED})

    with PausedIngest(assistant, "policies/leave.md", monkeypatch):
        assert assistant.store.ids("policies/leave.md") - committed, "the new version is not in the store yet"
        answer = assistant.ask(LEAVE_QUESTION)
        for passage in answer.retrieved:
            if passage.chunk.doc_id == "policies/leave.md":
                assert passage.chunk.chunk_id in committed, (
                    f"an uncommitted version was used: {passage.chunk.text}"
                )
        assert "department chair" not in answer.answer, answer.answer

    after = assistant.ask(LEAVE_QUESTION)
    assert "department chair" in after.answer, after.answer
