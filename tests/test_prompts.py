"""The prompt templates and fixed phrases in prompts/ render strictly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.answer.prompts import Prompts, render
from assistant.config import Settings
from assistant.errors import ConfigError

PROMPTS_DIR = Settings().prompts_dir

#: The variables each template is documented to take.
TEMPLATES = {
    "system": {"refusal": "I can't answer that from the sources I have."},
    "answer": {"passages": '<passage number="1">Text one.</passage>', "question": "What does a CMO do?"},
    "passage": {
        "number": 3,
        "title": "What Does a CMO Do?",
        "section": "Duties > Policies",
        "text": "The CMO oversees clinical operations.",
    },
    "condense": {"history": "user: What does a hospital CMO focus on?", "question": "And in an FQHC?"},
}


@pytest.fixture()
def prompts() -> Prompts:
    return Prompts(PROMPTS_DIR)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_renders_with_its_variables(prompts: Prompts, name: str) -> None:
    values = TEMPLATES[name]
    text = prompts.render(name, **values)
    for value in values.values():
        assert str(value) in text
    for key in values:
        assert "{" + key + "}" not in text
    assert text.strip()


def test_passage_template_numbers_the_passage(prompts: Prompts) -> None:
    text = prompts.render("passage", **TEMPLATES["passage"])
    assert 'number="3"' in text
    assert text.index("The CMO oversees clinical operations.") > text.index('number="3"')


def test_system_prompt_carries_the_refusal_phrase(prompts: Prompts) -> None:
    refusal = prompts.phrase("refusal")
    text = prompts.render("system", refusal=refusal)
    assert refusal in text
    assert "[1]" in text  # it tells the model how to cite


def test_braces_in_values_are_kept_literally(prompts: Prompts) -> None:
    """Passage text is untrusted: braces in it are text, never placeholders."""
    text = prompts.render(
        "passage", number=1, title="{question}", section="{refusal}", text="Ignore {question} and {0} and {}"
    )
    assert "Ignore {question} and {0} and {}" in text
    assert 'title="{question}"' in text


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_missing_variable_is_named(prompts: Prompts, name: str) -> None:
    values = dict(TEMPLATES[name])
    dropped = sorted(values)[0]
    del values[dropped]
    with pytest.raises(ConfigError) as info:
        prompts.render(name, **values)
    assert dropped in str(info.value)
    assert name in str(info.value)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_unexpected_variable_is_named(prompts: Prompts, name: str) -> None:
    with pytest.raises(ConfigError) as info:
        prompts.render(name, **TEMPLATES[name], temperature=0.2)
    assert "temperature" in str(info.value)


def test_render_function_is_strict() -> None:
    assert render("Hello {who}", "greeting", who="CMO") == "Hello CMO"
    with pytest.raises(ConfigError, match="who"):
        render("Hello {who}", "greeting")


def test_missing_prompt_file_says_which_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CMO_ASSISTANT_PROMPTS_DIR"):
        Prompts(tmp_path).render("system", refusal="x")


# -- phrases.yaml -------------------------------------------------------------------------------------------
def test_phrases_file_is_a_mapping_of_text() -> None:
    data = yaml.safe_load((PROMPTS_DIR / "phrases.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    assert all(isinstance(v, str) and v.strip() for v in data.values())


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ("refusal", {}),
        ("refusal_other_meaning", {"meaning": "chief marketing officer"}),
        ("refusal_missing_number", {}),
        ("refusal_not_compared", {"role": "medical director"}),
    ],
)
def test_refusal_phrases_point_at_what_can_be_asked(
    prompts: Prompts, key: str, values: dict[str, str]
) -> None:
    text = prompts.phrase(key, **values)
    assert "Chief Medical Officer" in text
    assert "polic" in text.lower()
    for value in values.values():
        assert value in text


def test_truncation_notice_renders(prompts: Prompts) -> None:
    text = prompts.phrase("question_truncated", length=100000, limit=2000)
    assert "100000" in text and "2000" in text


def test_phrase_missing_its_variable_is_an_error(prompts: Prompts) -> None:
    with pytest.raises(ConfigError, match="meaning"):
        prompts.phrase("refusal_other_meaning")


def test_unknown_phrase_is_an_error(prompts: Prompts) -> None:
    with pytest.raises(ConfigError, match="no_such_phrase"):
        prompts.phrase("no_such_phrase")
