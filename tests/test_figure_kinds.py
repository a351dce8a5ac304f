"""The kind of figure a question asks for, and the sentences that state one of that kind."""

from __future__ import annotations

import pytest

from assistant.answer.figure_kinds import asked_kind, states_kind, without_measures


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How long do departments get to comment on a draft policy?", "duration"),
        ("how soon do i have to file a safety report?", "duration"),
        ("how much notice do I need to give before a planned leave?", "duration"),
        ("how much clinical experience do you need before becoming a CMO?", "duration"),
        ("How often are OPPE reports produced?", "frequency"),
        ("What percentage of US hospitals have a CMO?", "percent"),
        ("how old do you have to be to be excused from call?", "age"),
        ("what's the average age of a chief medical officer?", "age"),
        ("how many cases get reviewed for a new privilege?", "count"),
        ("What is the weekend call stipend?", None),
        # a resolved follow-up: the last asking phrase is the new turn's
        ("how often does the committee meet? and how long is each meeting?", "duration"),
    ],
)
def test_the_kind_asked_for(question: str, kind: str | None) -> None:
    assert asked_kind(question)[0] == kind


@pytest.mark.parametrize(
    ("question", "sentence", "states"),
    [
        # durations
        ("How long does credentialing take?", "Applications are processed within 90 days.", True),
        ("How long does it take to become a CMO?", "It takes several years of experience.", True),
        ("How long does credentialing take?", "Two Level 3 ratings trigger an FPPE.", False),
        # a time of day
        ("How late is the cafeteria open?", "The cafeteria stays open until 11 pm.", True),
        ("how long is weekend call?", "Weekend call runs from Friday 17:00 to Monday 07:00.", True),
        ("How late is the cafeteria open?", "The cafeteria is on level 1.", False),
        ("how many hours of CME do I need?", "Each practitioner documents at least 50 hours of CME.", True),
        ("how many yrs experience do u need?", "A CMO needs five to 10 years of clinical experience.", True),
        ("how many vacation days do physicians get?", "A payment of $150 per encounter, up to $600.", False),
        # a number of units far from the asked unit is another kind of duration; a neighbouring unit is not
        (
            "how many hours a week does a CMO work?",
            "A CMO needs five to 10 years of clinical experience.",
            False,
        ),
        ("how many hours does the course take?", "The course is repeated every 2 years.", False),
        ("how many days do I have to report it?", "Report it to the CMO within 24 hours.", True),
        ("how many CME hrs do I need?", "At least 50 hours of CME in each 24-month period.", True),
        # frequencies
        (
            "How often are policies reviewed?",
            "Every clinical policy is reviewed at least every 2 years.",
            True,
        ),
        ("How often are policies reviewed?", "Comments are due within 14 days.", False),
        ("how often do they meet?", "The sponsor meets weekly with the new leader.", True),
        # ages
        ("what's the average age of a CMO?", "A CMO typically needs several years of experience.", False),
        ("how old must a physician be to be excused?", "A physician who is 60 years of age or older.", True),
        # shares
        ("What percentage of members must be patients?", "At least 51 percent are patients.", True),
        ("What percentage of members must be patients?", "The board has 12 members.", False),
        # counts: a number that counts, a share included; not a name, an amount of money or a length of time
        ("How many cases get reviewed?", "An FPPE requires review of at least 5 cases.", True),
        ("How many bad ratings trigger a review?", "Two Level 3 ratings trigger a review.", True),
        ("How many board members must be patients?", "A majority, at least 51 percent, are patients.", True),
        (
            "How many escalations reach Level 4 each year?",
            "The CMO informs the CEO of every Level 4 escalation.",
            False,
        ),
        (
            "How many votes does the MEC need?",
            "A policy more than 90 days past its review date is overdue.",
            False,
        ),
        ("How many votes does the MEC need?", "The fee is $250 per policy.", False),
        ("How many votes does the MEC need?", "Version 1.0 (2023-09-01) was approved by the MEC.", False),
        # no kind asked: any figure
        ("What is the weekend call stipend?", "Weekend call: $2,400 for the full weekend.", True),
    ],
)
def test_a_sentence_states_the_asked_kind(question: str, sentence: str, states: bool) -> None:
    assert states_kind(question, sentence) is states


@pytest.mark.parametrize(
    ("text", "left"),
    [
        (
            "presents the plan within 90 days of the start date",
            "presents the plan within 90 of the start date",
        ),
        ("files a report within 10 business days", "files a report within 10 business"),
        ("approves the leadership plan by day 90", "approves the leadership plan by 90"),
        ("how many days do I have?", "how many do I have?"),
        # a day that is the topic, not a length of time
        ("What does a CMO do day to day?", "What does a CMO do day to day?"),
        ("Meetings are a huge part of a CMO's day.", "Meetings are a huge part of a CMO's day."),
    ],
)
def test_a_length_of_time_loses_its_unit_and_a_day_as_a_topic_keeps_it(text: str, left: str) -> None:
    assert " ".join(without_measures(text).split()) == left
