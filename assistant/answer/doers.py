"""Who does what: the deed a "who" question asks about, and whether a sentence names a party doing it; when a
named group meets, who chairs it or who holds a role, and whether a sentence says so (the answerer refuses such a
question about a group or role the sources name when no chosen sentence does).

"Who approves my leave?" asks for the party that approves. Of the sentences sharing the question's words, "A
practitioner who neither returns nor requests an extension by the end of an approved leave is treated as having
resigned" holds "approved" as a word describing the leave, and "The CMO approves or denies the request" names the
party that approves: only the second answers. A sentence names a party doing the deed when the deed's verb follows
a party (a role, an office, a committee, an acronym such as "CMO") or a relative "who"/"that" after one, or when it
is a roles-list entry whose label is a party ("Chief Medical Officer: approves leaves of up to 12 months").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from assistant.search.lexical import analyze

#: What a slot question asks of a group or role: when it meets, who chairs it, who holds it.
Slot = Literal["schedule", "chair", "holder"]

#: The word after "who" when it does not name the deed: "who do I call" asks for whom someone else calls, "who is
#: my sponsor" for a name, "who has to know" for those told.
_NOT_A_DEED = frozenset(
    [
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "can",
        "could",
        "should",
        "shall",
        "will",
        "would",
        "may",
        "might",
        "must",
        "has",
        "have",
        "had",
        "s",
        "else",
        "all",
        "actually",
        "usually",
        "exactly",
        "really",
        "then",
    ]
)
#: "who" asking, then at most one adverb ("who actually decides", "who else gets told"), then the deed.
_ASKS_WHO_DOES = re.compile(
    r"\bwho(?:['’]s)?\s+(?:(?:else|actually|usually|exactly|really|then|all)\s+)?([a-z]+)\b", re.I
)
#: A party of an organisation: a role, an office, a group, or an acronym written in capitals ("CMO", "MEC"),
#: perhaps in brackets after its spelled-out name ("Chief Medical Officer (CMO)").
_PARTY = (
    r"(?:\b(?i:chairs?|chairpersons?|officers?|directors?|department|office|committee|council|coordinator|"
    r"managers?|supervisors?|team|group|staff|physicians?|practitioners?|nurses?|board|leaders?|president|"
    r"sponsor|mentor|scheduler|operator|administrators?|designee|reviewers?|members?)|\b[A-Z]{2,5}s?\)?)"
)
#: Between a party and its deed: nothing, a relative pronoun, an adverb or an auxiliary ("the CMO then
#: approves", "the team that decides", "the chair must approve", "to the CEO, who approves them").
_BETWEEN = r",?(?:\s+(?i:who|that|also|then|first|usually|must|may|shall|will|can|normally))*\s+"
_DOER_BEFORE = re.compile(_PARTY + _BETWEEN + "$")
#: A roles-list entry: a label naming its party, then a colon.
_LABEL = re.compile(r"^([A-Z][^:.;!?]{1,60}):\s")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_PARTY_WORD = re.compile(_PARTY + "$")
#: What follows a verb rather than a noun: "chairs the committee", not "the department chair reviews".
_OBJECT = re.compile(r"\s+(?i:the|a|an|its|each|every|all|any|this|that|these|those|his|her|their|it|them)\b")


def asked_deed(question: str) -> str | None:
    """The stem of the verb a "who" question asks about ("approv" of "who approves my leave?"), or None when it
    asks no such thing ("who is my sponsor?", "who do I call ...?", no "who" at all)."""
    match = _ASKS_WHO_DOES.search(question)
    if match is None or match.group(1).lower() in _NOT_A_DEED:
        return None
    stems = analyze(match.group(1))
    return stems[0] if stems else None


def names_doer(text: str, deed: str) -> bool:
    """Whether ``text`` names a party doing ``deed`` (a stem from :func:`asked_deed`)."""
    label = _LABEL.match(text)
    deeds = [w for w in _WORD.finditer(text) if deed in analyze(w.group(0)) and _acts(w, text)]
    if label and re.search(_PARTY, label.group(1)) and any(w.start() >= label.end() for w in deeds):
        return True
    return any(_DOER_BEFORE.search(text[: w.start()]) for w in deeds)


def _acts(word: re.Match[str], text: str) -> bool:
    """A word that may name a party as well as a deed ("chair") acts only when an object follows it."""
    return not _PARTY_WORD.match(word.group(0)) or bool(_OBJECT.match(text, word.end()))


#: "when does the MEC meet?", "what day does the peer review committee meet?", "what time does the clinical
#: policy committee start?": a question about when a named group meets.
_ASKS_SCHEDULE = re.compile(
    r"\b(?:when|what (?:day|days|time|date)|which days?)\s+(?:does|do|will|is|are)\s+(?:the\s+|our\s+|my\s+)?"
    r"(?P<party>[a-z][\w .'’/&-]{1,60}?)\s+(?:usually\s+|normally\s+|actually\s+)?"
    r"(?:meet|convene|get together|start|begin)s?\b",
    re.I,
)
_PRONOUN = re.compile(r"^(it|they|them|those|these|that|this|he|she|you|we|i|people|everyone)$", re.I)
#: A group that meets and has a chair: a committee, a team, a board ... or an acronym ("MEC"). "The onboarding
#: meetings" or "the peer review program" are left to the model.
_GROUP = re.compile(r"(\b(?i:committee|team|board|council|panel|group)s?|\b[A-Z]{2,6}s?)$")
#: What a sentence says of a group that meets: "X meets on ...", "X: meets ...", "X reviews ... at its monthly
#: meeting on ..." (in one clause: no comma, colon or semicolon between the group and the meeting).
_MEETS = r"(?:meets|meet|convenes|meeting|meetings|is held|gets together)\b"


#: A question asking for a time of day, and a time of day stated.
ASKS_CLOCK = re.compile(r"\bwhat time\b|\b(morning|afternoon|evening)\b|\bat what hour\b", re.I)
_CLOCK = re.compile(
    r"\b\d{1,2}(:\d\d)?\s?([ap]\.?m\b\.?)|\b\d{1,2}:\d\d\b|\b(noon|midnight|morning|afternoon|evening)\b",
    re.I,
)


def asked_schedule(question: str) -> str | None:
    """The group a question asks the meeting time of ("MEC" of "when does the MEC meet?"), or None (no such
    question, no group: "when do the onboarding meetings start?", or a pronoun: "when does it meet?" is about
    what was asked before)."""
    party = _party(_ASKS_SCHEDULE, question)
    return party if party and _GROUP.search(party) else None


def states_schedule(
    text: str, party: str, spelled_out: Mapping[str, Sequence[str]] | None = None, clock: bool = False
) -> bool:
    """Whether ``text`` says when ``party`` meets: the group named (as asked, by its acronym or spelled out),
    then, in the same clause or a relative one (", which meets ..."), that it meets; with ``clock`` (the question asks at what time of day), a time of
    day too ("meets on the second Monday" does not say what time)."""
    if clock and not _CLOCK.search(text):
        return False
    return _says(
        text,
        party,
        spelled_out,
        [rf"\b{_NAME}\s*:?\s*(?:,\s*(?:which|that)\s+)?(?:[^.;:,]{{0,60}}?\s)?{_MEETS}"],
    )


#: "who chairs the Peer Review Committee?", "who's the chair of the Credentials Committee right now?", "who runs
#: the clinical policy committee?": a question about who chairs a named group.
_ASKS_CHAIR = re.compile(
    r"\bwho(?:['’]s|\s+is)?\s+(?:the\s+)?(?:(?:co-?)?chairs?|chairperson|runs|leads|heads|presides over)\s+"
    r"(?:of\s+)?(?:the\s+|our\s+|my\s+)?(?P<party>[a-z][\w .'’/&-]{1,60}?)"
    r"(?=\s*(?:[?.!,;]|\s(?:and|right now|now|currently|these days|meetings?)\b|$))",
    re.I,
)


def asked_chair(question: str) -> str | None:
    """The group a question asks who chairs ("Peer Review Committee" of "who chairs the Peer Review Committee?"),
    or None (no such question, no group: "who runs the peer review program?", or a pronoun)."""
    party = _party(_ASKS_CHAIR, question)
    return party if party and _GROUP.search(party) else None


def states_chair(text: str, party: str, spelled_out: Mapping[str, Sequence[str]] | None = None) -> bool:
    """Whether ``text`` says who chairs ``party``, in one clause: "X ... is co-chaired by ...", "... chairs the
    X", "chair of the X". "The department chair reviews each OPPE report ... or referral to the Peer Review
    Committee." does not."""
    patterns = (
        rf"\b{_NAME}[^.;:,]{{0,60}}?\b(?:co-)?(?:chaired|led|headed|run)\s+by\b",
        rf"\b(?:co-)?(?:chairs|leads|heads|runs)\s+(?:the\s+)?{_NAME}",
        rf"\b(?:co-)?chair(?:person)?s?\s+of\s+(?:the\s+)?{_NAME}",
    )
    return _says(text, party, spelled_out, patterns)


#: "who is our Patient Safety Officer?", "who's the AOC tonight?", "who is my executive sponsor?": a question
#: asking who holds a role (the role after "our", "my" or "the").
_ASKS_IDENTITY = re.compile(
    r"\bwho(?:['’]s|\s+is|\s+are)\s+(?:our|my|the|your)\s+(?P<party>[a-z][\w .'’/&-]{1,60}?)"
    r"(?=\s*(?:[?.!,;]|\s(?:and|right now|now|currently|tonight|today|these days|this week|for)\b|$))",
    re.I,
)
#: The role every question is about: who "the CMO" is, is what a CMO is.
_THE_ROLE = re.compile(r"^(cmos?|chief medical officers?)$", re.I)


def asked_identity(question: str) -> str | None:
    """The role a question asks who holds ("Patient Safety Officer" of "who is our Patient Safety Officer?"), or
    None (no such question, or the CMO role itself)."""
    party = _party(_ASKS_IDENTITY, question)
    return None if party is None or _THE_ROLE.match(party) else party


def states_identity(text: str, party: str, spelled_out: Mapping[str, Sequence[str]] | None = None) -> bool:
    """Whether ``text`` says who holds the role ``party``: "The CEO is the executive sponsor for a new CMO.",
    "The CMO serves as the executive sponsor", "Peer mentor: an experienced physician leader who ..." (a
    definition), "the executive sponsor is the CEO". A roles-list entry saying what the role does ("Patient
    Safety Officer: triages reports every business day ...") does not."""
    patterns = (
        rf"\b(?:is|are|serves as|serve as|acts as|act as)\s+(?:the|an?)\s+(?:[\w-]+\s+){{0,2}}?{_NAME}",
        rf"^\W*(?:[\w-]+\s+){{0,2}}?{_NAME}\s*:\s*(?:the|an?)\s",
        rf"\b{_NAME}\s+(?:is|are)\s+(?:the|an?)\s",
    )
    return _says(text, party, spelled_out, patterns)


#: Where the group or role goes in a pattern of :func:`_says`: its words, then perhaps its acronym in brackets.
_NAME = "<name>"


def _party(pattern: re.Pattern[str], question: str) -> str | None:
    """The group or role ``pattern`` finds in ``question`` (its ``party`` group), unless a pronoun."""
    match = pattern.search(question)
    if match is None:
        return None
    party = " ".join(match.group("party").split())
    return None if _PRONOUN.match(party) else party


def _says(
    text: str, party: str, spelled_out: Mapping[str, Sequence[str]] | None, patterns: Sequence[str]
) -> bool:
    """Whether one of ``patterns``, its _NAME standing for ``party`` in any of its forms, matches ``text``."""
    for form in party_forms(party, spelled_out or {}):
        name = r"\s+".join(re.escape(w) for w in form.split()) + r"\b(?:\s*\([^)]*\))?"
        if any(re.search(pattern.replace(_NAME, name), text, re.I) for pattern in patterns):
            return True
    return False


def unfilled_slot(
    question: str,
    texts: Sequence[str],
    spelled_out: Mapping[str, Sequence[str]],
    mentions: Callable[[str], bool],
) -> tuple[Slot, str] | None:
    """The slot the question asks of a group or role the sources name (``mentions``: in any of its forms) that
    none of ``texts`` fills, with that group or role: "schedule" for "when does the MEC meet?", "chair" for who
    chairs it, "holder" for who holds a role; None when the question asks none, or a text says it."""
    clock = ASKS_CLOCK.search(question) is not None
    slots: tuple[tuple[Slot, str | None, Callable[[str, str], bool]], ...] = (
        ("schedule", asked_schedule(question), lambda t, p: states_schedule(t, p, spelled_out, clock)),
        ("chair", asked_chair(question), lambda t, p: states_chair(t, p, spelled_out)),
        ("holder", asked_identity(question), lambda t, p: states_identity(t, p, spelled_out)),
    )
    for slot, party, fills in slots:
        if (
            party
            and any(mentions(form) for form in party_forms(party, spelled_out))
            and not any(fills(text, party) for text in texts)
        ):
            return slot, party
    return None


def party_forms(party: str, spelled_out: Mapping[str, Sequence[str]]) -> list[str]:
    """``party`` as asked, and its acronym's spelled-out forms or the acronym of its spelled-out form."""
    lower = party.lower()
    forms = [lower, *spelled_out.get(lower, ())]
    forms += [acronym for acronym, names in spelled_out.items() if lower in (n.lower() for n in names)]
    return list(dict.fromkeys(f.lower() for f in forms))
