"""A question asking for a numbered series, and the section setting it out (answer/series.py)."""

from __future__ import annotations

import pytest
from memory_store import indexed, section_passage

from assistant.answer.series import Part, asked_series
from assistant.search.corpus_index import CorpusIndex, CorpusIndexes
from assistant.search.glossary import Glossary
from assistant.types import Chunk

DOC = "policies/grievance.md"
STEPS = ("3. Grievance Steps",)


def passage(chunk_id: str, section: tuple[str, ...], text: str, start: int) -> Chunk:
    return section_passage(chunk_id, DOC, section, text, start)


CHUNKS = [
    passage("steps", STEPS, "A grievance moves through the steps below until it is closed.", 100),
    passage("s1", (*STEPS, "3.1 Step 1: Intake"), "The patient relations office logs the grievance.", 200),
    passage("s2", (*STEPS, "3.2 Step 2: Review"), "The department manager reviews the grievance.", 300),
    passage("s3", (*STEPS, "3.3 Step 3: Response"), "The patient receives a written response.", 400),
    passage("other", ("4. Records",), "Grievance files are kept for seven years.", 500),
]


@pytest.fixture(scope="module")
def index() -> CorpusIndex:
    return CorpusIndexes(indexed(CHUNKS), Glossary.load()).get("g1")


@pytest.mark.parametrize(
    "question",
    [
        "what are the steps of a patient grievance?",
        "walk me through the grievance steps",
        "what are the steps?",  # nothing more said: the series of the most relevant passage
    ],
)
def test_the_series_asked_for_by_its_parts_plural_is_found_from_one_of_its_passages(
    index: CorpusIndex, question: str
) -> None:
    series = asked_series(question, [CHUNKS[2], CHUNKS[4]], index)
    assert series is not None
    assert series.parent == STEPS
    assert series.parts == (
        Part("Step 1: Intake", (*STEPS, "3.1 Step 1: Intake")),
        Part("Step 2: Review", (*STEPS, "3.2 Step 2: Review")),
        Part("Step 3: Response", (*STEPS, "3.3 Step 3: Response")),
    )


@pytest.mark.parametrize(
    ("question", "passages"),
    [
        ("what happens at step 2 of a grievance?", [CHUNKS[2]]),  # one part, in the singular
        ("what are the levels of a grievance?", [CHUNKS[2]]),  # not the word that numbers the parts
        ("how long are grievance files kept?", [CHUNKS[4]]),  # no series asked for
        # the question's other terms are not the series' ("steps" of credentialing, not of a grievance)
        ("what are the credentialing steps?", [CHUNKS[2]]),
        ("what are the steps?", [CHUNKS[4], CHUNKS[2]]),  # nothing more said, and not the most relevant
    ],
)
def test_no_series_is_found_for_a_question_that_does_not_ask_for_this_one(
    index: CorpusIndex, question: str, passages: list[Chunk]
) -> None:
    assert asked_series(question, passages, index) is None
