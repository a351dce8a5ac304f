"""Who does what: the deed a "who" question asks about, and whether a sentence names a party doing it.

"Who approves my leave?" asks for the party that approves. Of the sentences sharing the question's words, "A
practitioner who neither returns nor requests an extension by the end of an approved leave is treated as having
resigned" holds "approved" as a word describing the leave, and "The CMO approves or denies the request" names the
party that approves: only the second answers. A sentence names a party doing the deed when the deed's verb follows
a party (a role, an office, a committee, an acronym such as "CMO") or a relative "who"/"that" after one, or when it
is a roles-list entry whose label is a party ("Chief Medical Officer: approves leaves of up to 12 months").
"""

from __future__ import annotations

import re

from assistant.search.lexical import analyze

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
#: approves", "the team that decides", "the chair must approve").
_BETWEEN = r"(?:\s+(?i:who|that|also|then|first|usually|must|may|shall|will|can|normally))*\s+"
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
