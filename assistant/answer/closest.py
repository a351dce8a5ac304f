"""The passages shown with a refusal: where the sources come nearest to a question they do not answer.

A refusal alone leaves the reader with nothing; the sections nearest the question let them look for themselves
("Escalation of Clinical Concerns > 4. Escalation Levels" for "what are the levels of escalation?" when no
sentence answers it). They are not citations: the refusal says the sources do not answer, and these are shown
as the nearest they come. A section is shown only when one of its sentences is at least CLOSEST_FLOOR similar to
the question, so a question about cooking or the weather gets none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assistant.types import ClosestPassage, ScoredChunk

#: Cosine similarity a passage's closest sentence needs to be shown with a refusal. Chosen on the dev split: at
#: 0.35, 20 of the 24 answerable questions refused there get their expected document shown (0.40: 19, 0.45: 13),
#: and 4 of 30 questions far outside the domain get a passage shown (0.40: 3): the metformin dose, an ICD-10
#: code, a state's law on nurse practitioners and on non-competes, each nearest a policy's scope or procedure.
CLOSEST_FLOOR = 0.35
#: Sections shown at most.
MAX_CLOSEST = 3


def closest_passages(
    passages: Sequence[ScoredChunk],
    similarity: Mapping[str, float],
    floor: float = CLOSEST_FLOOR,
    limit: int = MAX_CLOSEST,
) -> tuple[ClosestPassage, ...]:
    """The retrieved passages (in rank order) whose closest sentence is at least ``floor`` similar to the
    question, one per document section, at most ``limit``.

    :param similarity: per chunk id, the cosine similarity of its sentence closest to the question.
    """
    shown: list[ClosestPassage] = []
    seen: set[tuple[str, str]] = set()
    for passage in passages:
        chunk = passage.chunk
        score = similarity.get(chunk.chunk_id, 0.0)
        place = (chunk.doc_id, chunk.section_label)
        if score < floor or place in seen:
            continue
        seen.add(place)
        shown.append(
            ClosestPassage(chunk.doc_id, chunk.title, chunk.section_label, chunk.text, score, chunk.kind)
        )
        if len(shown) == limit:
            break
    return tuple(shown)
