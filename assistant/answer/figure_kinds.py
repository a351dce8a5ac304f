"""What kind of figure a question asks for, and whether a sentence states a figure of that kind.

"How long" asks for a duration, "how often" for a frequency, "what percentage" for a share, "how old" for an age,
and "how many members" for a count of members. A sentence that states some other number about the same subject
does not answer: "how many members does the board need" is not answered by "a majority of members, at least 51
percent", nor "how many vacation days" by "dues are waived for any leave longer than 90 days" (a duration, not a
number of vacation days), nor "how many escalations reach Level 4" by "every Level 4 escalation" (an identifier).
A question with no such phrase ("what is the stipend?") accepts any figure.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["percent", "frequency", "duration", "age", "count"]

#: "one" as a number, not as a pronoun ("one another", "no one", "one of the most", "one moment ... the next").
ONE = r"(?<!\bno )(?<!\bthe )one(?!\s+(?:another|of|moment|thing)\b)"
#: A number written in digits (not part of an identifier such as "MS-101" or "v1.2") or in words.
_NUMBER = (
    rf"(?:(?<![A-Za-z]-)(?<![\w.-])\d[\d,.]*|\b(?:{ONE}|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred)\b)"
)
_UNITS = r"minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|yrs?|quarters?"
_UNIT = rf"(?:{_UNITS})"
#: A number that names rather than counts: "Level 4", "Tier 1", "Version 1.2", "Section 3".
_NAMING = re.compile(
    r"\b(level|tier|version|step|phase|section|stage|grade|class|type|appendix|policy|part|chapter|article|"
    r"figure|table|no\.?|rule|item|room|floor|suite)\s*#?\s*$",
    re.I,
)

#: The words that ask for a length of time ("how soon", "how much notice"); the answerability evidence reads them
#: too (a question asking for any figure).
ASKS_TIME = r"how (?:long|soon|quickly|fast|late|early|far ahead|far in advance)|how much (?:\w+ )?(?:time|notice|experience)"
#: The phrases that ask for each kind; when a (resolved) question holds several, the last one asks.
ASKING: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        "percent",
        re.compile(
            r"\b(what|which) (percentage|percent|proportion|share|fraction)\b|\bhow many percent\b|"
            r"\b(what|which)\s*%",
            re.I,
        ),
    ),
    ("frequency", re.compile(r"\bhow (often|frequently)\b", re.I)),
    (
        "duration",
        re.compile(
            rf"\b(?:{ASKS_TIME})\b|\b(deadline|timeline|time limit|time frame|timeframe)\b|\bhow many {_UNIT}\b",
            re.I,
        ),
    ),
    (
        "age",
        re.compile(
            r"\bhow old\b|\bwhat age\b|\b(average|typical|usual|median|minimum|maximum) age\b|"
            r"\bage (limit|cutoff)\b",
            re.I,
        ),
    ),
    ("count", re.compile(r"\bhow many\b|\bwhat number of\b", re.I)),
)
#: A sentence that states a figure of each kind (a count is any number that counts: :func:`_counts`).
STATING: dict[Kind, re.Pattern[str]] = {
    "percent": re.compile(_NUMBER + r"\s?(%|percent\b)|\b(half|majority|quarter|third|percent)\b", re.I),
    "frequency": re.compile(
        r"\b(every|once|twice|annual(ly)?|monthly|weekly|daily|quarterly|yearly|hourly|biweekly)\b|"
        r"\btimes (a|per|each)\b|\b(per|each|a) (day|week|month|quarter|year)\b",
        re.I,
    ),
    "duration": re.compile(
        _NUMBER + rf"[\s-]*(?:\w+[\s-]+)?{_UNIT}\b|"
        rf"\b(several|a few|many) {_UNIT}|"
        # a time of day answers "how late", "how early" and bounds a period ("from Friday 17:00 to Monday 07:00")
        r"\b\d{1,2}(:\d\d)?\s?([ap]\.?m\b\.?)|\b\d{1,2}:\d\d\b|\b(noon|midnight)\b|"
        r"\b(immediately|annual(ly)?|monthly|weekly|daily|quarterly|yearly|same day|next (business )?day)\b",
        re.I,
    ),
    "age": re.compile(_NUMBER + r"\s*(years?|yrs?)(\s+of)?\s+(age|old)\b|\baged?\s+" + _NUMBER, re.I),
}
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
#: Words between "how many" and the counted noun ("how many of my cases", "how many total members").
_BEFORE_NOUN = frozenset(
    [
        "of",
        "the",
        "my",
        "our",
        "your",
        "their",
        "his",
        "her",
        "its",
        "a",
        "an",
        "total",
        "different",
        "separate",
        "individual",
        "new",
    ]
)
#: Chat shorthand for the counted noun ("how many yrs").
_SHORTHAND = {
    "yrs": "years",
    "yr": "year",
    "hrs": "hours",
    "hr": "hour",
    "mins": "minutes",
    "min": "minute",
    "wks": "weeks",
    "wk": "week",
    "mos": "months",
    "docs": "doctors",
}
#: Units of time a count may be in ("how many vacation days"), singular and plural; a series may be numbered in
#: them too ("Days 1 to 30: Learn").
TIME_UNITS = frozenset(
    ["minute", "minutes", "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years"]
)
#: Each time unit's place on one scale: a question asking for hours is not answered by a number of years, but
#: may be by a number of days ("how many days do I have?": "within 24 hours").
_UNIT_SCALE = {"minute": 0, "hour": 1, "day": 2, "week": 3, "month": 4, "quarter": 4, "year": 5}
#: A unit farther than this from the asked one along the scale states another kind of duration.
_UNIT_REACH = 1
_ASKED_UNIT = re.compile(rf"\bhow many\s+(?:\w+\s+)?({_UNITS})\b", re.I)
_STATED_UNIT = re.compile(_NUMBER + rf"[\s-]*(?:\w+[\s-]+)?({_UNITS})\b", re.I)


#: A time unit that measures rather than names a topic: "90 days", "24 business hours", "day 90", "how many
#: days". "Days" in "within 90 days of the start date" says how long, not that the sentence is about a day.
_MEASURED = re.compile(
    rf"(?:{_NUMBER}|\bhow many)[\s-]*(?:business |calendar |working )?({_UNITS})\b|\b({_UNITS})(?=\s+\d)",
    re.I,
)


def without_measures(text: str) -> str:
    """``text`` with the time units that measure removed ("within 90 days" -> "within 90 "): what is left says
    what the text is about. "A CMO's day" and "day-to-day" keep theirs."""

    def strip(match: re.Match[str]) -> str:
        group = 1 if match.group(1) else 2
        return match.string[match.start() : match.start(group)] + match.string[match.end(group) : match.end()]

    return _MEASURED.sub(strip, text)


def asked_kind(question: str) -> tuple[Kind | None, str]:
    """The kind of figure the question asks for (None: any figure answers), and the question's words after the
    asking phrase (where a count's noun is)."""
    last: tuple[int, Kind, int] | None = None
    for kind, pattern in ASKING:
        for match in pattern.finditer(question):
            if last is None or match.start() > last[0]:
                last = (match.start(), kind, match.end())
    if last is None:
        return None, ""
    return last[1], question[last[2] :]


def states_kind(question: str, text: str) -> bool:
    """Whether ``text`` states a figure of the kind ``question`` asks for (True when it asks for no kind)."""
    kind, rest = asked_kind(question)
    if kind is None:
        return True
    if kind == "duration":
        return bool(STATING[kind].search(text)) and _in_asked_unit(question, text)
    if kind != "count":
        return bool(STATING[kind].search(text))
    nouns = [w.lower() for w in _WORD.findall(rest) if w.lower() not in _BEFORE_NOUN][:2]
    if any(_SHORTHAND.get(n, n) in TIME_UNITS for n in nouns):
        # "how many vacation days", "how many yrs": a duration
        return bool(STATING["duration"].search(text)) and _in_asked_unit(question, text)
    return any(_counts(text, match) for match in re.finditer(_NUMBER, text, re.I))


def _unit_place(unit: str) -> int:
    """A unit's place on :data:`_UNIT_SCALE` ("hrs" and "hours" are the hour's)."""
    return _UNIT_SCALE[_SHORTHAND.get(unit.lower(), unit.lower()).rstrip("s")]


def _in_asked_unit(question: str, text: str) -> bool:
    """When the question asks for a number of some unit ("how many hours a week"), a sentence whose numbers of
    time are all in units far from it ("five to 10 years") does not state the asked figure. True when no unit
    is asked or the sentence states its time without a number of units ("immediately", "by 17:00")."""
    asked = _ASKED_UNIT.search(question)
    if asked is None:
        return True
    stated = [_unit_place(m.group(1)) for m in _STATED_UNIT.finditer(text)]
    place = _unit_place(asked.group(1))
    return not stated or any(abs(p - place) <= _UNIT_REACH for p in stated)


def _counts(text: str, number: re.Match[str]) -> bool:
    """The number counts something (a share such as "51 percent" answers "how many" as well): it is not a name
    ("Level 4", "Tier 1"), an amount of money, a date or a length of time ("90 days")."""
    before, after = text[: number.start()], text[number.end() :]
    if (
        _NAMING.search(before)
        or before.endswith(("$", "€", "£"))
        or re.match(r"\d{4}-\d\d", text[number.start() :])
    ):
        return False
    return not re.match(rf"[\s-]*(?:business |calendar |working )?{_UNIT}\b", after, re.I)
