"""``cmo-assistant ask``, run in-process against the session's index of the shipped corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run

from assistant.pipeline import Assistant

pytestmark = pytest.mark.slow

ANSWER_KEYS = {"question", "answer", "answered", "citations", "closest", "timings_ms"}
CITATION_KEYS = {"marker", "doc_id", "title", "source", "section", "text", "highlights", "score"}


def ask_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "ask", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_json_output_has_the_documented_shape(cli_env: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    data = ask_json(capsys, "What does a CMO do?")
    assert set(data) == ANSWER_KEYS
    assert data["question"] == "What does a CMO do?"
    assert data["answered"] is True
    assert isinstance(data["answer"], str) and data["answer"]
    assert data["citations"]
    for c in data["citations"]:
        assert set(c) == CITATION_KEYS
        assert isinstance(c["marker"], int) and isinstance(c["score"], float)
        assert isinstance(c["highlights"], list) and c["highlights"]
        for span in c["highlights"]:
            assert isinstance(span, list) and len(span) == 2
            start, end = span
            assert isinstance(start, int) and isinstance(end, int)
            assert 0 <= start < end <= len(c["text"])
            assert c["text"][start:end] in data["answer"]
    assert [c["marker"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    assert set(data["timings_ms"]) == {"embed", "retrieve", "generate", "total"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in data["timings_ms"].values())


def test_plain_output_lists_the_sources(cli_env: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "How quickly must a patient safety event be reported?")
    assert code == 0
    assert "[1]" in out
    assert "(policies/ps-301-patient-safety-event-reporting.md)" in out


def test_refusal_is_a_normal_exit(cli_env: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    data = ask_json(capsys, "Who won the World Cup in 2018?")
    assert data["answered"] is False
    assert data["citations"] == []
    assert data["closest"] == []  # nothing in the sources is near a football question
    assert data["answer"]


def test_a_refusal_names_the_sections_nearest_the_question(
    cli_env: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    """The leave policy does not say how many days of bereavement leave there are; it is where to look."""
    question = "how many days of bereavement leave do medical staff get?"
    data = ask_json(capsys, question)
    assert data["answered"] is False and data["citations"] == []
    assert data["closest"] and set(data["closest"][0]) == {"doc_id", "title", "section", "text", "similarity"}
    assert "policies/ml-901-medical-staff-leave-of-absence.pdf" in [c["doc_id"] for c in data["closest"]]
    code, out, _ = run(capsys, "ask", question)
    assert code == 0
    assert "The nearest the sources come (they do not answer it):" in out
    assert "(policies/ml-901-medical-staff-leave-of-absence.pdf)" in out


def test_history_file_makes_a_followup_work(
    cli_env: Assistant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [
                {"role": "user", "content": "What does a hospital CMO focus on?"},
                {"role": "assistant", "content": "..."},
            ]
        ),
        "utf-8",
    )
    data = ask_json(capsys, "And how is that different in an FQHC?", "--history", str(history))
    assert data["answered"] is True
    assert {c["doc_id"] for c in data["citations"]} & {
        "sources/cmo-bridging-clinical-excellence-allied.md",
        "policies/hc-601-health-center-clinical-leadership.md",
    }


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        '{"role": "user", "content": "a dict, not a list"}',
        '[{"role": "user"}]',
        '[{"role": "narrator", "content": "x"}]',
    ],
)
def test_malformed_history_file_is_an_error(
    cli_env: Assistant, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    history = tmp_path / "history.json"
    history.write_text(content, "utf-8")
    code, out, err = run(capsys, "ask", "And then?", "--history", str(history))
    assert code != 0
    assert out == ""
    assert err.startswith("error:") and "istory" in err


def test_missing_history_file_is_an_error(
    cli_env: Assistant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "ask", "And then?", "--history", str(tmp_path / "nope.json"))
    assert code != 0
    assert "nope.json" in err


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_an_error(
    cli_env: Assistant, capsys: pytest.CaptureFixture[str], question: str
) -> None:
    code, out, err = run(capsys, "ask", question)
    assert code != 0
    assert out == ""
    assert "empty" in err


def test_kind_policy_cites_only_policies(cli_env: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    data = ask_json(capsys, "What does a CMO do?", "--kind", "policy")
    assert data["citations"]
    kinds = {doc_id: record.kind for doc_id, record in cli_env.manifest.documents().items()}
    assert {kinds[c["doc_id"]] for c in data["citations"]} == {"policy"}


def test_empty_data_dir_says_how_to_build_the_index(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(tmp_path / "empty-data"))
    code, out, err = run(capsys, "ask", "What does a CMO do?")
    assert code != 0
    assert out == ""
    assert "cmo-assistant ingest" in err
