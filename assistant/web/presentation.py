"""Pure rendering of answers and passages for the web app. No gradio here, so it is tested without a browser.

Every piece of document text is HTML-escaped before any markup is added: a passage holding ``<script>`` shows
as text. Highlights are the citation's supporting-sentence spans, wrapped in ``<mark>``.
"""

from __future__ import annotations

import html
import re

from assistant.answer.citations import MARKER
from assistant.types import Answer, Citation

EXAMPLES: dict[str, list[str]] = {
    "CMO duties": [
        "What does a Chief Medical Officer do?",
        "How does a CMO oversee quality and patient safety?",
    ],
    "Leadership skills": ["What leadership skills does a CMO need?", "Why does a CMO need financial acumen?"],
    "Hospital vs FQHC": ["How is a hospital CMO different from an FQHC CMO?", "What is a fractional CMO?"],
    "Career paths": ["What qualifications do I need to become a CMO?", "Can a CMO become a CEO?"],
    "Our policies": [
        "How often are clinical policies reviewed?",
        "How quickly must a patient safety event be reported?",
    ],
}


def highlighted(citation: Citation) -> str:
    """The passage text, escaped, with the supporting sentences in ``<mark>``."""
    text = citation.text
    out: list[str] = []
    pos = 0
    for start, end in sorted(citation.highlights):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def sources_html(answer: Answer | None) -> str:
    """The sources panel: one card per cited passage, anchored as ``source-<n>``."""
    if answer is None:
        return "<p class='cmo-empty'>Cited passages appear here.</p>"
    if not answer.citations:
        return "<p class='cmo-empty'>No passages cited: the sources do not cover this question.</p>"
    cards = []
    for c in answer.citations:
        where = " &rsaquo; ".join(html.escape(part) for part in c.section.split(" > ")) if c.section else ""
        cards.append(
            f"<div class='cmo-source' id='source-{c.marker}'>"
            f"<div class='cmo-source-head'><span class='cmo-marker'>[{c.marker}]</span> "
            f"<strong>{html.escape(c.title)}</strong> <span class='cmo-kind'>{html.escape(c.kind)}</span></div>"
            + (f"<div class='cmo-section'>{where}</div>" if where else "")
            + f"<div class='cmo-passage'>{highlighted(c)}</div>"
            f"<div class='cmo-doc'>{html.escape(c.doc_id)}</div></div>"
        )
    return "".join(cards)


def answer_markdown(answer: Answer) -> str:
    """The chat message: escaped text, inert Markdown links/images, ``[n]`` as clickable ``.cmo-cite`` links to
    the source cards; a refusal is set apart with ``.cmo-refusal``."""
    body = _inert(answer.answer)
    if not answer.answered:
        return f'<span class="cmo-refusal">Not covered by the sources.</span> {body}'
    return MARKER.sub(
        lambda m: (
            f'<a class="cmo-cite" data-marker="{m.group(1)}" href="#source-{m.group(1)}">[{m.group(1)}]</a>'
        ),
        body,
    )


def user_markdown(text: str) -> str:
    """A user's question as the chat shows it: escaped and inert, like document text (the chat renders HTML)."""
    return _inert(text)


def draft_markdown(text: str) -> str:
    """Text still being written (or a notice): escaped and inert, markers not yet linked."""
    return _inert(text)


def error_markdown(message: str) -> str:
    return f'<span class="cmo-error">Error:</span> {_inert(message)}'


def conversation_markdown(turns: list[tuple[str, Answer]]) -> str:
    """A conversation with its citations, as a Markdown file a user can keep."""
    lines = ["# CMO Assistant conversation", ""]
    for question, answer in turns:
        lines += [f"**Question:** {question}", "", answer.answer, ""]
        for c in answer.citations:
            where = f", {c.section}" if c.section else ""
            quoted = " … ".join(c.text[s:e] for s, e in c.highlights)
            lines.append(f"[{c.marker}] {c.title}{where} ({c.doc_id}): \u201c{quoted}\u201d")
        lines.append("")
    return "\n".join(lines)


def document_rows(stats: dict[str, object]) -> list[list[object]]:
    """Rows of the documents table: title, kind, chunks, document id."""
    docs = stats.get("per_document", [])
    assert isinstance(docs, list)
    return [[d["title"], d["kind"], d["chunks"], d["doc_id"]] for d in docs]


def document_html(title: str, text: str) -> str:
    """A whole document for reading: escaped, line breaks kept, nothing live."""
    return f"<div class='cmo-document'><h3>{html.escape(title)}</h3><div>{html.escape(text).replace(chr(10), '<br>')}</div></div>"


def timings_line(answer: Answer) -> str:
    t = answer.timings_ms
    return f"retrieval {t['retrieve']:.0f} ms · answer {t['generate']:.0f} ms · total {t['total']:.0f} ms"


def _inert(text: str) -> str:
    """Escape HTML and break Markdown image/link syntax, so document text can never load or link anything.

    A URL's ``:`` (and ``www.``'s dot) become character references: shown the same, but the chat's Markdown
    renderer no longer turns the address into a live link.
    """
    text = html.escape(text, quote=False)
    text = re.sub(r"!?\[([^\]\n]*)\]\(([^)\n]*)\)", lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = re.sub(r"(?i)\b(https?|ftp|mailto|javascript|data|file|vbscript)\s*:", r"\1&#58;", text)
    return re.sub(r"(?i)\bwww\.", "www&#46;", text)
