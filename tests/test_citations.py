"""The [n] marker rules every answer obeys: parse, renumber by first appearance, and spot inconsistencies."""

from __future__ import annotations

import pytest

from assistant.answer.citations import markers, problems, renumber
from assistant.types import Citation


def cite(marker: int) -> Citation:
    return Citation(
        marker=marker,
        doc_id=f"doc-{marker}.md",
        title="T",
        source="s",
        section="",
        text="Passage.",
        highlights=(),
        score=0.5,
    )


# -- markers ------------------------------------------------------------------------------------------------
def test_markers_in_order_of_appearance_with_repeats() -> None:
    assert markers("First [2]. Second [1][3]. Again [2].") == [2, 1, 3, 2]


def test_markers_ignore_text_that_only_looks_like_a_marker() -> None:
    assert markers("A list [a], an empty [] and [ 4 ] are not markers; [12] is.") == [12]


def test_no_markers() -> None:
    assert markers("Plain text without citations.") == []


# -- renumber -----------------------------------------------------------------------------------------------
def test_renumber_by_first_appearance() -> None:
    result = renumber("[3] a [1] b [3]", valid=[1, 3])
    assert result.text == "[1] a [2] b [1]"
    assert result.mapping == {1: 3, 2: 1}
    assert result.dropped == ()


def test_renumber_drops_markers_without_a_passage_and_reports_them() -> None:
    result = renumber("Duties [2]. Pay [7]. Skills [4].", valid=[2, 4])
    assert result.text == "Duties [1]. Pay. Skills [2]."
    assert result.dropped == (7,)
    assert result.mapping == {1: 2, 2: 4}


def test_renumber_reports_every_dropped_occurrence() -> None:
    result = renumber("One [9]. Two [9]. Three [1].", valid=[1])
    assert result.dropped == (9, 9)
    assert markers(result.text) == [1]


def test_renumber_tidies_the_spaces_a_dropped_marker_leaves() -> None:
    result = renumber("[5] Leads quality work [5] , and safety [2] [5] .", valid=[2])
    assert result.text == "Leads quality work, and safety [1]."
    assert "  " not in result.text
    assert result.text == result.text.strip()


def test_renumber_leaves_quoted_text_verbatim() -> None:
    quoted = "Attention : badges are worn  at all times ! Ask security ; they help . [4]"
    assert renumber(quoted, valid=[4]).text == quoted.replace("[4]", "[1]")
    assert renumber(quoted + " [9]", valid=[4]).text == quoted.replace("[4]", "[1]")


def test_renumber_keeps_newlines_of_lists() -> None:
    text = "Intro [4].\n\n- item one [2]\n- item two [4]"
    result = renumber(text, valid=[2, 4])
    assert result.text == "Intro [1].\n\n- item one [2]\n- item two [1]"


def test_renumber_with_no_valid_passage_leaves_no_marker() -> None:
    result = renumber("Claim [1]. Claim [2].", valid=[])
    assert markers(result.text) == []
    assert result.text == "Claim. Claim."
    assert result.mapping == {}


def test_renumbered_text_passes_the_consistency_check() -> None:
    result = renumber("b [3] a [1] c [3] d [8]", valid=[1, 3])
    cited = [cite(m) for m in sorted(result.mapping)]
    assert problems(result.text, cited) == []


# -- problems -----------------------------------------------------------------------------------------------
def test_consistent_answer_has_no_problems() -> None:
    assert problems("A [1]. B [2]. C [1].", [cite(1), cite(2)]) == []


def test_refusal_without_markers_or_citations_has_no_problems() -> None:
    assert problems("I can't answer that.", []) == []


def test_marker_without_a_passage() -> None:
    found = problems("A [1]. B [2].", [cite(1)])
    assert len(found) == 1
    assert "[2]" in found[0] and "no passage" in found[0]


def test_passage_never_cited() -> None:
    found = problems("A [1].", [cite(1), cite(2)])
    assert len(found) == 1
    assert "[2]" in found[0] and "never cited" in found[0]


def test_numbering_not_by_first_appearance() -> None:
    found = problems("A [2]. B [1].", [cite(1), cite(2)])
    assert len(found) == 1
    assert "first appearance" in found[0]


def test_numbering_with_a_gap_is_not_by_first_appearance() -> None:
    found = problems("A [1]. B [3].", [cite(1), cite(3)])
    assert any("first appearance" in p for p in found)


def test_duplicate_citation() -> None:
    found = problems("A [1].", [cite(1), cite(1)])
    assert len(found) == 1
    assert "twice" in found[0]


@pytest.mark.parametrize(
    ("text", "listed", "expected"),
    [
        ("A [2].", [1], 3),  # [2] has no passage, [1] never cited, numbering starts at 2
        ("A [1]. B [2].", [1, 1], 2),  # [2] has no passage, [1] listed twice
    ],
)
def test_every_problem_is_reported(text: str, listed: list[int], expected: int) -> None:
    assert len(problems(text, [cite(m) for m in listed])) == expected
