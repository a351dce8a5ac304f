"""What ``import assistant`` offers, and that importing it is cheap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from app_process import clean_environment

import assistant
from assistant import Answer, Assistant, AssistantError, Citation, Settings
from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError, IndexMissingError, QuestionError

HEAVY = ("torch", "sentence_transformers", "chromadb", "gradio", "bm25s")


def test_public_names() -> None:
    assert set(assistant.__all__) == {
        "Answer",
        "Assistant",
        "AssistantError",
        "Citation",
        "ClosestPassage",
        "Settings",
    }
    for name in assistant.__all__:
        assert getattr(assistant, name) is not None


def test_every_error_is_an_assistant_error() -> None:
    for error in (ConfigError, QuestionError, IndexMissingError):
        assert issubclass(error, AssistantError)


def heavy_modules_loaded_by(snippet: str) -> list[str]:
    """Run ``snippet`` in a fresh interpreter and list the heavy libraries it left imported."""
    code = (
        f"import json, sys\n{snippet}\nprint(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    env = clean_environment()
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_does_not_load_heavy_libraries() -> None:
    assert heavy_modules_loaded_by("import assistant\nfrom assistant import Assistant, Settings") == []


def test_constructing_an_assistant_does_not_load_heavy_libraries(tmp_path: Path) -> None:
    snippet = f"from assistant import Assistant, Settings\na = Assistant(Settings(data_dir={str(tmp_path / 'data')!r}))"
    assert heavy_modules_loaded_by(snippet) == []


def make_answer() -> Answer:
    citation = Citation(
        marker=1,
        doc_id="policies/ps-301-patient-safety-event-reporting.md",
        title="Patient Safety Event Reporting",
        source="corpus/policies/ps-301-patient-safety-event-reporting.md",
        section="Policy",
        text="Report every event within 24 hours. Near misses count too.",
        highlights=((0, 35),),
        score=0.123456789,
        kind="policy",
    )
    return Answer(
        question="How quickly must a patient safety event be reported?",
        answer="Report every event within 24 hours. [1]",
        answered=True,
        citations=(citation,),
        timings_ms={"retrieve": 12.3456, "generate": 1.0, "total": 13.3456},
        notices=("a notice",),
        standalone_question="standalone",
    )


def test_answer_to_dict_shape() -> None:
    data = make_answer().to_dict()
    assert set(data) == {"question", "answer", "answered", "citations", "closest", "timings_ms"}
    assert data["answered"] is True
    (c,) = data["citations"]
    assert set(c) == {"marker", "doc_id", "title", "source", "section", "text", "highlights", "score"}
    assert c["highlights"] == [[0, 35]]
    assert c["score"] == pytest.approx(0.123457)
    assert data["timings_ms"] == {"retrieve": 12.35, "generate": 1.0, "total": 13.35}
    assert json.loads(json.dumps(data)) == data  # plain JSON, round-trips


def test_refusal_to_dict_has_no_citations() -> None:
    refusal = Answer(
        question="q",
        answer="I can't answer that.",
        answered=False,
        citations=(),
        timings_ms={"retrieve": 1.0, "generate": 0.5, "total": 1.5},
    )
    data = refusal.to_dict()
    assert data["answered"] is False
    assert data["citations"] == []


def test_from_env_reads_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(tmp_path / "from-env"))
    assert Assistant.from_env().settings.data_dir == tmp_path / "from-env"


def test_from_env_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("CMO_ASSISTANT_TOP_K", "7")
    a = Assistant.from_env(data_dir=tmp_path / "explicit")
    assert a.settings.data_dir == tmp_path / "explicit"
    assert a.settings.top_k == 7


def test_from_env_rejects_a_bad_value_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMO_ASSISTANT_TOP_K", "many")
    with pytest.raises(ConfigError, match="CMO_ASSISTANT_TOP_K"):
        Assistant.from_env()


def test_settings_is_the_public_settings_type(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert Assistant(settings).settings is settings
