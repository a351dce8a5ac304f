"""The sections shown with a refusal: the nearest the sources come to a question they do not answer."""

from __future__ import annotations

import pytest

from assistant.answer.closest import CLOSEST_FLOOR, closest_passages
from assistant.pipeline import Assistant
from assistant.types import Chunk, ScoredChunk


def passage(cid: str, doc: str, section: tuple[str, ...]) -> ScoredChunk:
    return ScoredChunk(Chunk(cid, doc, doc.upper(), "policy", doc, section, f"text {cid}", 0, 9, 0, ()), 0.5)


def test_near_sections_in_rank_order_one_per_section_at_most_three() -> None:
    ranked = [
        passage("a1", "a.md", ("Leave",)),
        passage("far", "b.md", ("Cooking",)),
        passage("a2", "a.md", ("Leave",)),  # the same section again
        passage("a3", "a.md", ("Return",)),
        passage("c1", "c.md", ()),
        passage("d1", "d.md", ("Pay",)),
    ]
    similarity = {
        "a1": 0.5,
        "far": CLOSEST_FLOOR - 0.01,
        "a2": 0.6,
        "a3": CLOSEST_FLOOR,
        "c1": 0.4,
        "d1": 0.9,
    }
    shown = closest_passages(ranked, similarity)
    assert [(c.doc_id, c.section) for c in shown] == [("a.md", "Leave"), ("a.md", "Return"), ("c.md", "")]
    assert shown[0].text == "text a1" and shown[0].similarity == 0.5 and shown[0].kind == "policy"
    assert closest_passages(ranked, {}) == ()


@pytest.mark.slow
def test_a_refusal_points_at_the_policy_a_near_question_is_about(shipped: Assistant) -> None:
    refused = shipped.ask("how many days of bereavement leave do medical staff get?")
    assert not refused.answered
    assert refused.closest[0].doc_id == "policies/ml-901-medical-staff-leave-of-absence.pdf"
    assert all(c.similarity >= CLOSEST_FLOOR for c in refused.closest)


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "how do I get rid of fruit flies in my kitchen",  # nothing near
        "what KPIs should a chief marketing officer report to the board?",  # another CMO
        "What does a CMO do?",  # answered
    ],
)
def test_no_sections_are_shown_for_what_is_far_from_the_sources_or_answered(
    shipped: Assistant, question: str
) -> None:
    assert shipped.ask(question).closest == ()
