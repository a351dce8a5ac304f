"""Which role a question compares with the CMO, and whether a sentence compares them (answer/roles.py)."""

from __future__ import annotations

import pytest

from assistant.answer.roles import compared_role, compares

SPELLED_OUT = {"ceo": ("chief executive officer",), "coo": ("chief operating officer",)}
CEO_SENTENCE = (
    "While both are top-level executives in an organization, a Chief Medical Officer focuses on the medical "
    "aspects of the organization, while a Chief Executive Officer oversees the overall business operations."
)


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("what is the difference between a CMO and a medical director?", "medical director"),
        ("how do the CMO's duties differ from the chief operating officer's?", "chief operating officer"),
        ("how does a CMO differ from a CNO?", "CNO"),
        ("cmo vs ceo, who does what?", "ceo"),
        ("CMO versus chief nursing officer: who does what?", "chief nursing officer"),
        ("what does a CMO do differently than a medical director?", "medical director"),
        ("what does the CMO handle, as opposed to the COO?", "COO"),
    ],
)
def test_a_question_comparing_the_cmo_with_another_role_names_it(question: str, role: str) -> None:
    assert compared_role(question) == role


@pytest.mark.parametrize(
    "question",
    [
        "what does a medical director do?",  # compares nothing
        "what would they have to pay attention to differently as CEO?",  # "differently" compares nothing
        "how is a hospital CMO different from an FQHC CMO?",  # settings, not roles
        "how does a CNO differ from a CFO?",  # the CMO is not one of the sides
        "CMO vs CEO vs COO: who does what?",  # more than one other role
    ],
)
def test_a_question_that_does_not_compare_the_cmo_with_one_role_names_none(question: str) -> None:
    assert compared_role(question) is None


def test_a_sentence_setting_the_cmo_against_the_role_compares_them_by_any_of_its_names() -> None:
    assert compares("ceo", [CEO_SENTENCE], SPELLED_OUT)
    assert compares("chief executive officer", [CEO_SENTENCE], SPELLED_OUT)


@pytest.mark.parametrize(
    "sentence",
    [
        CEO_SENTENCE,  # another role
        "The CMO meets the chief operating officer every week.",  # both named, not set against each other
        "While the COO runs operations, budgets are reviewed quarterly.",  # the CMO not named
    ],
)
def test_a_sentence_that_does_not_set_the_cmo_against_the_role_does_not_compare_them(sentence: str) -> None:
    assert not compares("chief operating officer", [sentence], SPELLED_OUT)
