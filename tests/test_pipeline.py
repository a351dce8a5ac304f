"""The citation contract the pipeline enforces on every answerer, and the document filter."""

from __future__ import annotations

import pytest

from assistant.answer import Composition
from assistant.answer.citations import problems
from assistant.answer.query import clean_question
from assistant.pipeline import Assistant, verified
from assistant.types import Citation


def cite(marker: int, doc: str = "policies/a.md") -> Citation:
    return Citation(
        marker, doc, "Title", f"corpus/{doc}", "Section", "Passage text.", ((0, 13),), 0.5, "policy"
    )


def test_consistent_answer_passes_unchanged() -> None:
    original = Composition("One. [1] Two. [2]", True, (cite(1), cite(2, "policies/b.md")))
    assert verified(original) == original


def test_marker_without_passage_is_removed_and_reported() -> None:
    result = verified(Composition("One. [1] Two. [7]", True, (cite(1),)))
    assert result.text == "One. [1] Two."
    assert [c.marker for c in result.citations] == [1]
    assert any("[7]" in n for n in result.notices)
    assert problems(result.text, result.citations) == []


def test_uncited_passage_is_dropped_and_markers_renumbered_by_first_appearance() -> None:
    result = verified(
        Composition("A. [3] B. [1] C. [3]", True, (cite(1, "x.md"), cite(2, "y.md"), cite(3, "z.md")))
    )
    assert result.text == "A. [1] B. [2] C. [1]"
    assert [(c.marker, c.doc_id) for c in result.citations] == [(1, "z.md"), (2, "x.md")]
    assert problems(result.text, result.citations) == []


def test_answer_left_without_any_valid_citation_is_not_an_answer() -> None:
    result = verified(Composition("Unsupported claim. [4]", True, (cite(1),)))
    assert not result.answered
    assert result.citations == ()


def test_refusal_is_left_alone() -> None:
    refusal = Composition("I can't answer that.", False, ())
    assert verified(refusal) is refusal


def test_clean_question_removes_control_characters_and_cuts_at_a_word() -> None:
    text, cut = clean_question("What\x00 does\x07 a\u200b CMO do?", 2000)
    assert text == "What does a CMO do?" and not cut
    text, cut = clean_question("word " * 1000, 100)
    assert cut and len(text) <= 100 and not text.endswith(" ")


@pytest.mark.slow
def test_document_filter_cites_only_that_document(shipped: Assistant) -> None:
    doc = "policies/ms-101-credentialing-and-privileging.md"
    answer = shipped.ask("How often is reappointment?", doc_id=doc)
    assert answer.answered
    assert {c.doc_id for c in answer.citations} == {doc}
