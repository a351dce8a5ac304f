"""Every question the README shows (command line, Python, the app's starter questions) is answered, with
citations, over the shipped corpus: the examples a new user tries first must work."""

from __future__ import annotations

import json
import re

import pytest

from assistant.config import PROJECT_ROOT
from assistant.pipeline import Assistant
from assistant.web.presentation import EXAMPLES

pytestmark = pytest.mark.slow

README = (PROJECT_ROOT / "README.md").read_text("utf-8")
CLI_ASK = re.compile(r'cmo-assistant ask "([^"]+)"((?:[ \t]+--[\w-]+(?:[ \t]+[^\s#-][^\s#]*)?)*)')
PY_ASK = re.compile(r'assistant\.ask\(\s*"([^"]+)"(?:,\s*history=(\[[^\]]*\]))?', re.S)
HISTORY_FILE = re.compile(r"echo '(\[.*?\])' > (\S+)")


def readme_questions() -> list[tuple[str, str | None, list[dict[str, str]]]]:
    """(question, kind, history) for every question in the README."""
    files = {name: json.loads(body) for body, name in HISTORY_FILE.findall(README)}
    found: list[tuple[str, str | None, list[dict[str, str]]]] = []
    for question, flags in CLI_ASK.findall(README):
        kind = re.search(r"--kind\s+(\w+)", flags)
        history = re.search(r"--history\s+(\S+)", flags)
        assert history is None or history.group(1) in files, f"the README never shows {history.group(1)}"
        found.append((question, kind.group(1) if kind else None, files[history.group(1)] if history else []))
    for question, history in PY_ASK.findall(README):
        turns = json.loads(re.sub(r'(\w+)(?=":)', r"\1", history.replace("'", '"'))) if history else []
        found.append((question, None, turns))
    found += [
        (q, "policy" if topic == "Our policies" else None, []) for topic, qs in EXAMPLES.items() for q in qs
    ]
    return found


QUESTIONS = readme_questions()


def test_the_readme_shows_questions_of_every_kind() -> None:
    assert len(QUESTIONS) >= 10
    assert any(history for _, _, history in QUESTIONS), "no follow-up example"
    assert any(kind == "policy" for _, kind, _ in QUESTIONS), "no policy example"


@pytest.mark.parametrize(("question", "kind", "history"), QUESTIONS, ids=[q for q, _, _ in QUESTIONS])
def test_every_readme_question_is_answered_with_citations(
    shipped: Assistant, question: str, kind: str | None, history: list[dict[str, str]]
) -> None:
    answer = shipped.ask(question, history=history, kind=kind)
    assert answer.answered, f"{question!r} was refused: {answer.answer}"
    assert answer.citations
