"""Who does what: the deed a "who" question asks about, and the sentences naming a party doing it."""

from __future__ import annotations

import pytest

from assistant.answer.doers import (
    asked_chair,
    asked_deed,
    asked_identity,
    asked_schedule,
    names_doer,
    states_chair,
    states_identity,
    states_schedule,
)


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
        ("The CMO recommends privileges to the CEO, who approves them.", "approv", True),
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


@pytest.mark.parametrize(
    ("question", "party"),
    [
        ("when does the MEC meet?", "MEC"),
        ("what day does the peer review committee meet?", "peer review committee"),
        ("what time does the clinical policy committee start", "clinical policy committee"),
        ("when does it meet?", None),  # about what was asked before
        ("when do the onboarding meetings start?", None),  # no group
        ("when do I need to finish training?", None),
    ],
)
def test_the_group_a_question_asks_the_meeting_time_of(question: str, party: str | None) -> None:
    assert asked_schedule(question) == party


SPELLED_OUT = {"mec": ("medical executive committee",)}


@pytest.mark.parametrize(
    ("text", "party", "clock", "states"),
    [
        (
            "Patient Safety Committee: meets on the first Wednesday of each month.",
            "patient safety committee",
            False,
            True,
        ),
        (
            "The Credentials Committee reviews the file at its monthly meeting on the second Tuesday.",
            "credentials committee",
            False,
            True,
        ),
        ("The Medical Executive Committee (MEC) meets monthly.", "MEC", False, True),
        (
            "The CMO chairs the QI/QA Committee, which meets on the fourth Tuesday.",
            "QI/QA committee",
            False,
            True,
        ),
        # another group meets; the asked one is only named
        (
            "The Credentials Committee reviews the file at its monthly meeting and forwards a recommendation to the MEC.",
            "MEC",
            False,
            False,
        ),
        (
            "A new department chair attends the MEC, the Credentials Committee and the monthly staff meeting.",
            "MEC",
            False,
            False,
        ),
        # a day is no time of day
        (
            "The Clinical Policy Committee meets on the second Monday of each month.",
            "clinical policy committee",
            True,
            False,
        ),
        (
            "The Clinical Policy Committee meets on the second Monday at 7:30 am.",
            "clinical policy committee",
            True,
            True,
        ),
    ],
)
def test_a_sentence_says_when_the_group_meets(text: str, party: str, clock: bool, states: bool) -> None:
    assert states_schedule(text, party, SPELLED_OUT, clock) is states


@pytest.mark.parametrize(
    ("question", "party"),
    [
        ("who chairs the Peer Review Committee?", "Peer Review Committee"),
        ("Who's the chair of the Credentials Committee right now?", "Credentials Committee"),
        (
            "who runs the clinical policy committee and what day do they get together?",
            "clinical policy committee",
        ),
        ("who chairs it?", None),
        ("who runs the peer review program?", None),  # no group
        ("who approves my leave?", None),
    ],
)
def test_the_group_a_question_asks_the_chair_of(question: str, party: str | None) -> None:
    assert asked_chair(question) == party


@pytest.mark.parametrize(
    ("text", "party", "states"),
    [
        (
            "The Clinical Policy Committee meets monthly and is co-chaired by the CMO and the CNO.",
            "clinical policy committee",
            True,
        ),
        (
            "Chief Medical Officer: serves as clinical director, chairs the QI/QA Committee.",
            "QI/QA Committee",
            True,
        ),
        ("The CMO is the chair of the Medical Executive Committee.", "MEC", True),
        # a chair who is not the group's, and the group without its chair
        (
            "The department chair reviews each OPPE report and documents a referral to the Peer Review Committee.",
            "peer review committee",
            False,
        ),
        ("Peer Review Committee: meets on the third Thursday of each month.", "peer review committee", False),
    ],
)
def test_a_sentence_says_who_chairs_the_group(text: str, party: str, states: bool) -> None:
    assert states_chair(text, party, SPELLED_OUT) is states


@pytest.mark.parametrize(
    ("question", "party"),
    [
        ("Who is our Patient Safety Officer?", "Patient Safety Officer"),
        ("ok who's the AOC tonight and how do I reach them?", "AOC"),
        ("who is my executive sponsor?", "executive sponsor"),
        ("who is the CMO?", None),  # what the role is
        ("who is on the peer review committee?", None),
    ],
)
def test_the_role_a_question_asks_the_holder_of(question: str, party: str | None) -> None:
    assert asked_identity(question) == party


@pytest.mark.parametrize(
    ("text", "party", "states"),
    [
        (
            "The Chief Executive Officer (CEO) is the executive sponsor for a new CMO.",
            "executive sponsor",
            True,
        ),
        (
            "Peer mentor: an experienced physician leader who advises the new physician leader.",
            "peer mentor",
            True,
        ),
        ("Executive sponsor: the leader to whom the new physician leader reports.", "sponsor", True),
        # what the role does, not who holds it
        (
            "Patient Safety Officer: triages reports every business day and convenes the SEC team.",
            "patient safety officer",
            False,
        ),
        ("Every new physician leader is assigned a peer mentor before the first day.", "peer mentor", False),
    ],
)
def test_a_sentence_says_who_holds_the_role(text: str, party: str, states: bool) -> None:
    assert states_identity(text, party, SPELLED_OUT) is states
