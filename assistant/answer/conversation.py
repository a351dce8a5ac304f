"""Follow-up questions, resolved against the conversation before retrieval.

Offline, a follow-up is recognised by its form (it opens with "and", "what about"..., or leans on a pronoun
without naming its subject) and is joined to the previous question, which carries the topic. The LLM backends
replace this with a condensing prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant.errors import QuestionError
from assistant.types import Turn

_OPENERS = re.compile(
    r"^\W*(and|but|so|also|then|ok|okay|what about|how about|and what|same|what if)\b|"
    # "is it the same at the health center?", "does that work the same way for FQHCs?"
    r"^\W*(is|are|does|do|would|will|was)\s+(it|that|this|they|those|things|everything)\s+(\w+\s+)?(the\s+)?same\b",
    re.I,
)
_ANAPHORA = re.compile(
    r"\b(that|this|those|these|it|its|they|them|their|there|such|same|he|she|his|her)\b", re.I
)
_SUBJECT = re.compile(
    r"\b(cmo|cmos|chief medical officers?|physician leaders?|medical directors?|policy|policies|committee|"
    r"credential\w*|privileg\w*|peer review|fqhc|health centers?|hospital cmo)\b",
    re.I,
)
#: A question that says it starts a new topic ("ok thanks. unrelated, ...") is not a follow-up, whatever its form.
_NEW_TOPIC = re.compile(
    r"\b(unrelated|different (question|topic)|new (question|topic)|another (question|topic)|switching gears|"
    r"chang(e|ing) (of )?(the )?subject|on another note)\b",
    re.I,
)
#: A question that points back at an earlier one by its place ("going back to the first thing", "from the first
#: list", "in the first setting"): resolved against that question, not against the most recent ones.
_BACK_TO = re.compile(
    r"\bthe (first|second|third|original|initial) (thing|question|one|list|point|topic|setting|answer|part|"
    r"case|option)\b|"
    # "going back to the very start": the first question
    r"\b(?:back to|from) the (?:very )?(start|beginning)\b",
    re.I,
)
_PLACES = {"first": 0, "original": 0, "initial": 0, "start": 0, "beginning": 0, "second": 1, "third": 2}
#: A follow-up that only names another subject ("and holidays?", "what about weeknights?", "same at the FQHC?")
#: asks what the question before it asked ...
_ELLIPTICAL = re.compile(
    r"^\W*(?:(?:ok|okay|so)\W+)?(and|also|then|what about|how about|"
    r"(?:(?:is|are|does|do|would|will|was)\s+(?:it|that|this|they|things|everything)\s+(?:\w+\s+)?(?:the\s+)?)?"
    r"same(?:\s+(?:thing|way|rules?))?\s+(?:for|at|in|with|on|over))\b",
    re.I,
)
#: ... unless it asks something of its own after its opening word ("and how much is that?").
_ASKS = re.compile(
    r"\b(who|whom|whose|what|when|where|why|how|which|is|are|was|were|do|does|did|can|could|should|would|will|"
    r"must|may|much|many|long)\b",
    re.I,
)


def parse_history(raw: Any) -> list[Turn]:
    """Validate a history given as a list of ``{"role": "user"|"assistant", "content": str}``."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise QuestionError(
            'History must be a JSON list of {"role": "user"|"assistant", "content": "..."} objects.'
        )
    turns: list[Turn] = []
    for i, item in enumerate(raw):
        if isinstance(item, Turn):
            turns.append(item)
            continue
        if (
            not isinstance(item, dict)
            or item.get("role") not in ("user", "assistant")
            or not isinstance(item.get("content"), str)
        ):
            raise QuestionError(
                f'History item {i} must be {{"role": "user"|"assistant", "content": "..."}}; got {item!r:.80}.'
            )
        turns.append(Turn(item["role"], item["content"]))
    return turns


def is_followup(question: str) -> bool:
    if _NEW_TOPIC.search(question):
        return False
    if _OPENERS.match(question) or _BACK_TO.search(question):
        return True
    words = re.findall(r"\w+", question)
    if _SUBJECT.search(question):
        return False
    return bool(_ANAPHORA.search(question)) or len(words) <= 3


def standalone(question: str, history: Sequence[Turn]) -> str:
    """The question to retrieve with: itself, or joined to the topic of the conversation so far (or to the earlier
    question it points back at by place)."""
    asked = [t.content.strip() for t in history if t.role == "user" and t.content.strip()]
    back = _BACK_TO.search(question)
    place = _PLACES[(back.group(1) or back.group(3)).lower()] if back else len(asked)
    if place < len(asked) and not _NEW_TOPIC.search(question):
        return f"{asked[place]} {question}"
    topic = ""
    for turn in history:
        if turn.role != "user" or not turn.content.strip():
            continue
        text = turn.content.strip()
        topic = f"{topic} {text}".strip() if topic and is_followup(text) else text
    if topic and is_followup(question):
        return f"{topic} {question}"
    return question


def elliptical(question: str, resolved: str) -> bool:
    """A follow-up that only names another subject ("and holidays?" after "how much is weekend call paid?"): it
    asks what the earlier question asked (its form is in ``resolved``), about the subject it names itself."""
    opening = _ELLIPTICAL.match(question)
    if opening is None or resolved == question:
        return False
    return not _ASKS.search(question[opening.end() :])
