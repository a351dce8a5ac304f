"""Answer feedback: a real SQLite file in tmp_path, hand-built answers, export read back by the eval loader."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.evaluation.dataset import load_cases
from assistant.types import Answer, Citation
from assistant.web.feedback import (
    MAX_COMMENT_CHARS,
    FeedbackError,
    FeedbackStore,
    feedback_path,
)

POLICY_TEXT = (
    "Report every patient safety event within 24 hours of discovery. Near misses count too. "
    "The Patient Safety Officer reviews each report and assigns a severity level before the next huddle."
)
DUTIES_TEXT = (
    "A CMO oversees the quality of clinical care across the organization. Budgeting. "
    "The CMO also chairs the medical executive committee and leads physician recruitment."
)
HISTORY = [
    {"role": "user", "content": "Tell me about safety reporting."},
    {"role": "assistant", "content": "Sure."},
]


def span(text: str, sentence: str) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def answered(question: str = "How quickly must a patient safety event be reported?") -> Answer:
    first = "Report every patient safety event within 24 hours of discovery."
    review = (
        "The Patient Safety Officer reviews each report and assigns a severity level before the next huddle."
    )
    citations = (
        Citation(
            marker=1,
            doc_id="policies/ps-301-patient-safety-event-reporting.md",
            title="Patient Safety Event Reporting",
            source="corpus/policies/ps-301-patient-safety-event-reporting.md",
            section="Policy",
            text=POLICY_TEXT,
            highlights=(span(POLICY_TEXT, first), span(POLICY_TEXT, "Near misses count too.")),
            score=0.8,
            kind="policy",
        ),
        Citation(
            marker=2,
            doc_id="sources/cmo-duties.md",
            title="CMO duties",
            source="corpus/sources/cmo-duties.md",
            section="Duties",
            text=DUTIES_TEXT,
            highlights=(
                span(DUTIES_TEXT, "A CMO oversees the quality of clinical care across the organization."),
                span(DUTIES_TEXT, "Budgeting."),
            ),
            score=0.5,
        ),
    )
    return Answer(
        question=question,
        answer=f"{first} [1] {review} [1] A CMO oversees the quality of clinical care across the organization. [2]",
        answered=True,
        citations=citations,
        timings_ms={"retrieve": 1.0, "generate": 1.0, "total": 2.0},
    )


def refusal(question: str = "What is the best pizza in Chicago?") -> Answer:
    return Answer(
        question=question,
        answer="I can only answer questions about the CMO role and your policies.",
        answered=False,
        citations=(),
        timings_ms={"retrieve": 1.0, "generate": 0.1, "total": 1.1},
    )


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[FeedbackStore]:
    with FeedbackStore(tmp_path / "data" / "feedback.sqlite3") as s:
        yield s


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_default_path_is_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert feedback_path(settings) == tmp_path / "d" / "feedback.sqlite3"
    assert FeedbackStore.from_settings(settings).path == feedback_path(settings)


def test_constructing_a_store_touches_no_file(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "nowhere" / "feedback.sqlite3")
    assert store.count() == 0 and store.list() == []
    assert not (tmp_path / "nowhere").exists()


def test_record_and_list_round_trip(store: FeedbackStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    first = store.record(answered(), 1, comment="  clear and cited  ", history=HISTORY, user="dr.lee")
    second = store.record(refusal(), -1)
    assert second > first
    assert store.count() == 2
    newest, oldest = store.list()
    assert (newest.id, oldest.id) == (second, first)
    assert oldest.rating == 1 and newest.rating == -1
    assert oldest.question == answered().question
    assert oldest.answer == answered().answer and oldest.answered is True
    assert list(oldest.citations) == [c.to_dict() for c in answered().citations]
    assert oldest.comment == "clear and cited"
    assert list(oldest.history) == HISTORY
    assert oldest.user == "dr.lee"
    assert oldest.created_at.tzinfo is not None
    assert before <= oldest.created_at <= datetime.now(UTC) + timedelta(seconds=2)
    assert newest.answered is False and newest.citations == () and newest.history == ()
    assert [r.id for r in store.list(limit=1)] == [second]


def test_rows_survive_reopening_the_file(store: FeedbackStore) -> None:
    row = store.record(answered(), 1)
    store.close()
    with FeedbackStore(store.path) as again:
        assert [r.id for r in again.list()] == [row]


@pytest.mark.parametrize("rating", [0, 2, -2, 5, True, 1.0, "1", None])
def test_invalid_rating_raises(store: FeedbackStore, rating: object) -> None:
    with pytest.raises(FeedbackError, match=r"rating must be 1 .* or -1"):
        store.record(answered(), rating)  # type: ignore[arg-type]
    assert issubclass(FeedbackError, AssistantError)
    assert store.count() == 0


def test_comment_is_trimmed_and_capped(store: FeedbackStore) -> None:
    store.record(answered(), -1, comment="\n  " + "x" * (MAX_COMMENT_CHARS + 500) + "  \n")
    (record,) = store.list()
    assert record.comment == "x" * MAX_COMMENT_CHARS


def test_history_keeps_only_role_and_content(store: FeedbackStore) -> None:
    store.record(answered(), 1, history=[{"role": "user", "content": "hi", "metadata": "ui"}])
    assert store.list()[0].history == ({"role": "user", "content": "hi"},)
    with pytest.raises(FeedbackError, match=r"(?i)history item 0"):
        store.record(answered(), 1, history=[{"role": "system", "content": "x"}])


def test_invalid_limit_raises(store: FeedbackStore) -> None:
    with pytest.raises(FeedbackError, match="limit must be 1 or more"):
        store.list(limit=0)


def test_concurrent_writes_from_eight_threads_all_land(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    shared = FeedbackStore(path)
    per_thread = 25
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(i: int) -> None:
        # half the threads share one store (the lock), half open their own (SQLite's WAL and busy timeout)
        store = shared if i % 2 else FeedbackStore(path)
        try:
            start.wait()
            for n in range(per_thread):
                store.record(answered(f"question {i}-{n}"), 1 if n % 2 else -1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            if store is not shared:
                store.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert shared.count() == 8 * per_thread
    assert len({r.id for r in shared.list(limit=1000)}) == 8 * per_thread
    shared.close()


def test_export_writes_cases_the_eval_loader_accepts(store: FeedbackStore, tmp_path: Path) -> None:
    up = store.record(answered(), 1, history=HISTORY)
    down = store.record(answered("Who reviews the reports?"), -1, comment="  wrong policy  ")
    out = tmp_path / "out" / "cases.jsonl"
    assert store.export_cases(out) == 2
    cases = read_jsonl(out)
    assert [c["id"] for c in cases] == [f"feedback-{up}", f"feedback-{down}"]
    for case in cases:
        assert {"id", "split", "category", "question", "history", "answerable"} <= set(case)
        assert case["split"] == "feedback" and case["answerable"] is True and case["key_facts"] == []
        assert case["expected_docs"] == [
            "policies/ps-301-patient-safety-event-reporting.md",
            "sources/cmo-duties.md",
        ]
        passages = {c.doc_id: c.text for c in answered().citations}
        assert case["quotes"]
        for quote in case["quotes"]:
            assert any(quote in text for text in passages.values())
            assert len(quote) >= 40  # the short highlights ("Budgeting.") are left out
    up_case, down_case = cases
    assert up_case["category"] == "feedback-up" and up_case["history"] == HISTORY
    assert "needs_review" not in up_case
    assert up_case["quotes"] == [
        "Report every patient safety event within 24 hours of discovery.",
        "A CMO oversees the quality of clinical care across the organization.",
    ]
    assert down_case["category"] == "feedback-down"
    assert down_case["needs_review"] is True and down_case["note"] == "wrong policy"

    loaded = load_cases(out)
    assert [c.id for c in loaded] == [f"feedback-{up}", f"feedback-{down}"]
    assert loaded[0].history == HISTORY and loaded[0].split == "feedback"


def test_thumbs_up_on_a_refusal_exports_as_must_refuse(store: FeedbackStore, tmp_path: Path) -> None:
    row = store.record(refusal(), 1)
    out = tmp_path / "cases.jsonl"
    assert store.export_cases(out) == 1
    (case,) = read_jsonl(out)
    assert case["id"] == f"feedback-{row}"
    assert case["answerable"] is False and case["quotes"] == [] and case["expected_docs"] == []
    assert case["category"] == "feedback-up"
    (loaded,) = load_cases(out)
    assert loaded.answerable is False


def test_cases_without_quotes_are_skipped_with_a_reason(store: FeedbackStore, tmp_path: Path) -> None:
    store.record(refusal(), -1, comment="it should know this")
    bare = Citation(1, "sources/x.md", "X", "corpus/sources/x.md", "", "Some passage text.", (), 0.3)
    no_highlights = Answer("Q?", "Some passage text. [1]", True, (bare,), {"total": 1.0})
    store.record(no_highlights, 1)
    kept = store.record(answered(), 1)
    out = tmp_path / "cases.jsonl"
    report = store.export(out)
    assert report.written == 1 and [c["id"] for c in read_jsonl(out)] == [f"feedback-{kept}"]
    assert len(report.skipped) == 2
    assert "refusal" in report.skipped[0].reason and "highlight" in report.skipped[1].reason


def test_only_short_highlights_are_kept_but_flagged(store: FeedbackStore, tmp_path: Path) -> None:
    text = "Budgeting. Staffing. Quality."
    citation = Citation(1, "sources/x.md", "X", "corpus/sources/x.md", "", text, ((0, 10), (11, 20)), 0.3)
    store.record(Answer("What does a CMO manage?", "Budgeting. [1]", True, (citation,), {}), 1)
    out = tmp_path / "cases.jsonl"
    assert store.export_cases(out) == 1
    (case,) = read_jsonl(out)
    assert case["quotes"] == ["Budgeting.", "Staffing."]
    assert case["needs_review"] is True and "shorter than 40" in case["review_reason"]
    load_cases(out)


def test_export_replaces_the_file_whole(store: FeedbackStore, tmp_path: Path) -> None:
    out = tmp_path / "evals" / "cases.jsonl"
    out.parent.mkdir()
    out.write_text("stale\n" * 10, "utf-8")
    store.record(answered(), 1)
    assert store.export_cases(out) == 1
    assert len(read_jsonl(out)) == 1
    assert [p.name for p in out.parent.iterdir()] == ["cases.jsonl"]  # no temp file left behind


def test_export_with_no_feedback_writes_an_empty_file(tmp_path: Path) -> None:
    out = tmp_path / "cases.jsonl"
    assert FeedbackStore(tmp_path / "feedback.sqlite3").export_cases(out) == 0
    assert out.read_text("utf-8") == ""


# --- the CLI ---------------------------------------------------------------------------------------


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(data))
    return data


def test_cli_export_and_list(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FeedbackStore(data_dir / "feedback.sqlite3") as store:
        store.record(answered(), 1)
        store.record(answered("Who reviews\nthe reports?"), -1)
        store.record(refusal(), -1)
    out = tmp_path / "exported.jsonl"

    assert main(["feedback", "export", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert f"wrote 2 cases to {out}" in stdout
    assert "skipped 1:" in stdout and "refusal" in stdout
    assert len(read_jsonl(out)) == 2

    assert main(["feedback", "list", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("-1  ") and lines[0].endswith("What is the best pizza in Chicago?")
    assert lines[1].startswith("-1  ") and lines[1].endswith("Who reviews the reports?")
    assert lines[0][4:24].endswith("Z")


def test_cli_export_with_no_feedback(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["feedback", "export"]) == 0
    default = Path("evals/feedback-cases.jsonl")
    assert f"wrote 0 cases to {default}" in capsys.readouterr().out
    assert (tmp_path / default).read_text("utf-8") == ""

    assert main(["feedback", "list"]) == 0
    assert "no feedback yet" in capsys.readouterr().out


def test_cli_reports_errors_through_main(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "list", "--limit", "0"]) == 1
    assert "error: limit must be 1 or more" in capsys.readouterr().err


def test_a_comment_added_after_a_thumbs_down_is_kept_with_its_rating(store: FeedbackStore) -> None:
    down = store.record(answered(), -1, history=HISTORY, user="reader")
    other = store.record(answered(), 1)
    store.add_comment(down, "  The reporting deadline is missing.  ")

    by_id = {r.id: r for r in store.list()}
    assert by_id[down].comment == "The reporting deadline is missing."
    assert by_id[down].history == tuple(HISTORY) and by_id[down].rating == -1
    assert by_id[other].comment == ""
    store.add_comment(down, "x" * 5000)
    assert len(store.list()[1].comment) == MAX_COMMENT_CHARS


def test_a_comment_for_no_stored_rating_is_refused(store: FeedbackStore) -> None:
    store.record(answered(), -1)
    with pytest.raises(FeedbackError, match="No rating has the id 999"):
        store.add_comment(999, "lost")
    with pytest.raises(FeedbackError, match="comment must be text"):
        store.add_comment(1, None)  # type: ignore[arg-type]
