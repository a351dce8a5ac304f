"""A question comparing the CMO with another role, and whether the sources ever compare the two.

The sources set the CMO against the CEO ("While both are top-level executives in an organization, a Chief Medical
Officer focuses on the medical aspects ..., while a Chief Executive Officer oversees the overall business
operations."), and against no other role. Asked how a CMO differs from a medical director, a COO or a CNO, the
answerer found no sentence comparing them and quoted the CMO-CEO comparison, which answers another question. A
question comparing the CMO with a role no retrieved sentence sets against the CMO is refused with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

#: Words that ask for a comparison of two things ("differently", as in "what would they do differently?",
#: does not; "differently than a medical director" does).
_COMPARISON = re.compile(
    r"\b(differs?|differences?|different(ly)? (from|than)|compared?|comparison|versus|vs|contrast|"
    r"distinguish\w*|unlike|as opposed to)\b",
    re.I,
)
#: A role in an organization: a C-suite title spelled out or as an acronym, a vice president, a director...
_ROLE = re.compile(
    r"\b(chief (?:[a-z]+ ){1,2}officers?|c[a-z]{1,2}os?|vps? of [a-z]+(?: [a-z]+)?|"
    r"vice presidents? of [a-z]+(?: [a-z]+)?|medical directors?|department chairs?|chiefs? of staff|"
    r"nurse managers?|administrators?)\b",
    re.I,
)
_CMO = re.compile(r"\b(cmos?|chief medical officers?)\b", re.I)
#: A sentence that sets two things against each other.
_CONTRAST = re.compile(
    r"\b(while|whereas|unlike|differ\w*|difference\w*|compared|contrast\w*|than|versus|vs|rather|instead)\b",
    re.I,
)


def compared_role(question: str) -> str | None:
    """The one role other than the CMO that a question comparing it with the CMO names, as written ("the chief
    operating officer" of "how do the CMO's duties differ from the chief operating officer's?"); None when the
    question compares nothing, does not name the CMO, or names no or several other roles."""
    if not _COMPARISON.search(question) or not _CMO.search(question):
        return None
    roles = list(
        dict.fromkeys(m.group(0) for m in _ROLE.finditer(question) if not _CMO.fullmatch(m.group(0)))
    )
    return re.sub(r"['’]s?$", "", roles[0]) if len(roles) == 1 else None


def compares(
    role: str, sentences: Iterable[str], spelled_out: Mapping[str, Sequence[str]] | None = None
) -> bool:
    """Whether one of ``sentences`` names the CMO and ``role`` and sets them against each other.

    :param spelled_out: lower-cased acronym -> its spelled-out forms (the glossary's), so "COO" is found as
        "chief operating officer" and the other way round.
    """
    forms = _forms(role.lower(), spelled_out or {})
    return any(
        _CMO.search(sentence) and _CONTRAST.search(sentence) and any(f.search(sentence) for f in forms)
        for sentence in sentences
    )


def _forms(role: str, spelled_out: Mapping[str, Sequence[str]]) -> list[re.Pattern[str]]:
    """The ways a sentence may name ``role``: as written (singular or plural), spelled out, or abbreviated."""
    singular = role[:-1] if role.endswith("s") and not role.endswith("ss") else role
    names = {singular, *spelled_out.get(singular, ())}
    names.update(acronym for acronym, expansions in spelled_out.items() if singular in expansions)
    return [re.compile(rf"\b{re.escape(name)}s?\b", re.I) for name in names]
