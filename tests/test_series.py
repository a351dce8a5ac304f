"""A question asking for a numbered series, and the section setting it out (answer/series.py)."""

from __future__ import annotations

import pytest
from memory_store import indexed, section_passage

from assistant.answer.series import Part, asked_series, asked_span, asked_span_of_series
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
        "what's the grievance process?",  # a process is a series of steps
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
        ("what's the credentialing process?", [CHUNKS[2]]),
        ("what are the steps?", [CHUNKS[4], CHUNKS[2]]),  # nothing more said, and not the most relevant
    ],
)
def test_no_series_is_found_for_a_question_that_does_not_ask_for_this_one(
    index: CorpusIndex, question: str, passages: list[Chunk]
) -> None:
    assert asked_series(question, passages, index) is None


ONBOARDING = "policies/onboarding.md"
PROCEDURE = ("5. Onboarding Procedure",)
#: A section made of its parts only: "5. Onboarding Procedure" holds no passage of its own.
PHASED = [
    section_passage(
        "defs", ONBOARDING, ("2. Definitions",), "Sponsor: the leader who approves the plan.", 100
    ),
    section_passage(
        "d1", ONBOARDING, (*PROCEDURE, "Days 1 to 30: Learn"), "The leader meets each chair.", 200
    ),
    section_passage(
        "d2", ONBOARDING, (*PROCEDURE, "Days 31 to 60: Assess"), "The leader picks 3 priorities.", 300
    ),
    section_passage("d3", ONBOARDING, (*PROCEDURE, "Days 61 to 90: Plan"), "The leader writes a plan.", 400),
    section_passage("after", ONBOARDING, (*PROCEDURE, "After day 90"), "The sponsor reviews the year.", 500),
]


@pytest.fixture(scope="module")
def phased() -> CorpusIndex:
    return CorpusIndexes(indexed(PHASED), Glossary.load()).get("p1")


@pytest.mark.parametrize(
    "question",
    [
        "what are the phases of onboarding?",  # a word asking for the parts of any series
        "what should I do in my first 90 days?",  # the parts' own word; "90" is in their headings
        "walk me through the stages of the onboarding procedure",
    ],
)
def test_a_series_numbered_by_days_is_found_anywhere_in_the_document(
    phased: CorpusIndex, question: str
) -> None:
    """The most relevant passage is a definition; the series is under another section, which has no passage of
    its own, and "After day 90" is no part of it (not numbered the same way)."""
    series = asked_series(question, [PHASED[0]], phased)
    assert series is not None
    assert series.parent == PROCEDURE
    assert [part.label for part in series.parts] == [
        "Days 1 to 30: Learn",
        "Days 31 to 60: Assess",
        "Days 61 to 90: Plan",
    ]


@pytest.mark.parametrize(
    "question",
    [
        "how many days does onboarding take?",  # a number of days, not the series of days
        "what are the phases?",  # nothing more said: only under the most relevant passage's own section
    ],
)
def test_no_series_of_days_is_found_for_a_question_that_does_not_ask_for_it(
    phased: CorpusIndex, question: str
) -> None:
    assert asked_series(question, [PHASED[0]], phased) is None


def test_a_document_s_passages_and_its_sections_with_subsections_are_listed_in_document_order(
    phased: CorpusIndex,
) -> None:
    assert [c.chunk_id for c in phased.document(ONBOARDING)] == ["defs", "d1", "d2", "d3", "after"]
    assert phased.parents(ONBOARDING) == [PROCEDURE]
    assert phased.document("policies/missing.md") == [] and phased.parents("policies/missing.md") == []


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("what should I do in my first 30 days?", (1, 30)),
        ("what should a new CMO do in the first month?", (1, 30)),
        ("my first two weeks as chair - what's expected?", (1, 14)),
        ("what happens in days 31 to 60?", (31, 60)),
        ("and the second month?", (31, 60)),
        ("what should I do in my first 90 days?", (1, 90)),
        ("how many days does onboarding take?", None),
    ],
)
def test_the_span_of_days_a_question_asks_about(question: str, span: tuple[int, int] | None) -> None:
    assert asked_span(question) == span


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("what should I do in my first 30 days?", ["Days 1 to 30: Learn"]),
        ("what should a new leader do in the first month?", ["Days 1 to 30: Learn"]),
        ("what happens in the second month of onboarding?", ["Days 31 to 60: Assess"]),
        ("what's expected in the first 60 days?", ["Days 1 to 30: Learn", "Days 31 to 60: Assess"]),
    ],
)
def test_a_span_of_days_asks_for_the_parts_it_overlaps(
    phased: CorpusIndex, question: str, labels: list[str]
) -> None:
    """The parts of a series numbered by days that the span overlaps, quoted whole (``whole`` False), found
    whether or not the question names the parts' word ("days")."""
    series = asked_series(question, [PHASED[0]], phased) or asked_span_of_series(
        question, [PHASED[0]], phased
    )
    assert series is not None and not series.whole
    assert [part.label for part in series.parts] == labels


@pytest.mark.parametrize(
    "question",
    [
        "what should I do in my first 90 days?",  # every part: the whole series (asked_series)
        "is the sponsor chosen in the first 6 months?",  # every part, without the parts' word: no series
        "how many meetings are there in the first month?",  # a figure question
        "what does the sponsor do?",  # no span
    ],
)
def test_a_span_that_holds_every_part_or_none_or_a_figure_question_asks_for_no_part(
    phased: CorpusIndex, question: str
) -> None:
    assert asked_span_of_series(question, [PHASED[0]], phased) is None
