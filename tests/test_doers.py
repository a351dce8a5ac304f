"""Who does what: the deed a "who" question asks about, and the sentences naming a party doing it."""

from __future__ import annotations

import pytest

from assistant.answer.doers import asked_deed, names_doer


@pytest.mark.parametrize(
    ("question", "deed"),
    [
        ("who approves my leave?", "approv"),
        ("who actually decides whether an event counts as an SSE?", "decid"),
        ("Who chairs the Peer Review Committee?", "chair"),
        # not a deed: whom someone else calls, a name, those who are told
        ("who do I call if the on-call doc doesn't come in?", None),
        ("who's my executive sponsor?", None),
        ("who has to know about a serious event?", None),
        ("how long is a leave?", None),
    ],
)
def test_the_deed_a_who_question_asks_about(question: str, deed: str | None) -> None:
    assert asked_deed(question) == deed


@pytest.mark.parametrize(
    ("text", "deed", "names"),
    [
        ("The CMO approves or denies the request.", "approv", True),
        ("Chief Medical Officer: approves leaves of up to 12 months.", "approv", True),
        ("Each chair selects four indicators, and the Peer Review Committee approves them.", "approv", True),
        (
            "Safety Event Classification (SEC) team: the group that decides whether an event is an SSE.",
            "decid",
            True,
        ),
        ("The CMO chairs the QI/QA Committee.", "chair", True),
        # the word without a party doing it
        (
            "A practitioner who neither returns nor requests an extension of an approved leave resigns.",
            "approv",
            False,
        ),
        ("The department chair reviews each OPPE report within 30 days.", "chair", False),
        ("Approval is recorded in the policy library.", "approv", False),
    ],
)
def test_a_sentence_names_a_party_doing_the_deed(text: str, deed: str, names: bool) -> None:
    assert names_doer(text, deed) is names
