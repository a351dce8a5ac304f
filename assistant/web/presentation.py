"""Pure rendering of answers and passages for the web app. No gradio here, so it is tested without a browser.

Every piece of document text is HTML-escaped before any markup is added: a passage holding ``<script>`` shows
as text. Highlights are the citation's supporting-sentence spans, wrapped in ``<mark>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
        out.append(inert(text[pos:start], links_as_text=False))
        out.append(f"<mark>{inert(text[start:end], links_as_text=False)}</mark>")
        pos = end
    out.append(inert(text[pos:], links_as_text=False))
    return "".join(out).replace("\n", "<br>")


def sources_html(answer: Answer | None) -> str:
    """The sources panel: one card per cited passage, anchored as ``source-<n>``; with a refusal, the passages
    nearest the question (``closest-<n>``, no marker: they are not cited)."""
    if answer is None:
        return "<p class='cmo-empty'>Cited passages appear here.</p>"
    if not answer.citations and answer.closest:
        return (
            "<p class='cmo-empty'>The sources do not answer this question. The nearest they come:</p>"
            + "".join(
                _card(
                    f"closest-{n}", "", near.title, near.kind, near.section, _passage(near.text), near.doc_id
                )
                for n, near in enumerate(answer.closest, start=1)
            )
        )
    if not answer.citations:
        return "<p class='cmo-empty'>No passages cited: the sources do not cover this question.</p>"
    return "".join(
        _card(f"source-{c.marker}", f"[{c.marker}]", c.title, c.kind, c.section, highlighted(c), c.doc_id)
        for c in answer.citations
    )


def _card(anchor: str, marker: str, title: str, kind: str, section: str, passage: str, doc_id: str) -> str:
    """One passage card of the sources panel (``passage`` is markup already escaped)."""
    head = f"<span class='cmo-marker'>{marker}</span> " if marker else ""
    shown = _where(section, title)
    where = f"<div class='cmo-section'>{shown}</div>" if shown else ""
    return (
        f"<div class='cmo-source' id='{anchor}'>"
        f"<div class='cmo-source-head'>{head}<strong>{inert(title, links_as_text=False)}</strong> "
        f"<span class='cmo-kind'>{inert(kind)}</span></div>{where}"
        f"<div class='cmo-passage'>{passage}</div>"
        f"<div class='cmo-doc'>{inert(doc_id, links_as_text=False)}</div></div>"
    )


def _passage(text: str) -> str:
    """Passage text as the panel shows it: escaped, line breaks kept."""
    return inert(text, links_as_text=False).replace("\n", "<br>")


def _where(section: str, title: str = "") -> str:
    """A heading path as the panel shows it ("Procedure &rsaquo; Approval"), escaped; a first heading that only
    repeats the document's title (a DOCX whose first heading is its title) is left out."""
    parts = section.split(" > ") if section else []
    if parts and parts[0].strip().casefold() == title.strip().casefold():
        parts = parts[1:]
    return " &rsaquo; ".join(inert(part, links_as_text=False) for part in parts)


def answer_markdown(answer: Answer) -> str:
    """The chat message: escaped text, inert Markdown links/images, ``[n]`` as clickable ``.cmo-cite`` links to
    the source cards, each labelled "Source n: <title>" for screen readers; a refusal is set apart with
    ``.cmo-refusal``."""
    if not answer.answered:
        refusal = f'<span class="cmo-refusal">Not covered by the sources.</span> {inert(answer.answer)}'
        if answer.closest:
            nearest = "; ".join(
                inert(near.title, links_as_text=False)
                + (f" &rsaquo; {shown}" if (shown := _where(near.section, near.title)) else "")
                for near in answer.closest
            )
            refusal += f"<br><span class='cmo-closest-list'>The nearest the sources come: {nearest}.</span>"
        return refusal
    # The text between markers is made inert piece by piece; the markers' links are the app's own markup.
    titles = {str(c.marker): c.title for c in answer.citations}
    parts: list[str] = []
    pos = 0
    for m in MARKER.finditer(answer.answer):
        parts.append(inert(answer.answer[pos : m.start()]))
        n = m.group(1)
        label = f"Source {n}: {inert(titles[n], links_as_text=False)}" if n in titles else f"Source {n}"
        parts.append(
            f'<a class="cmo-cite" data-marker="{n}" href="#source-{n}" aria-label="{label}">[{n}]</a>'
        )
        pos = m.end()
    parts.append(inert(answer.answer[pos:]))
    return "".join(parts)


def user_markdown(text: str) -> str:
    """A user's question as the chat shows it: escaped and inert, like document text (the chat renders HTML)."""
    return inert(text)


def draft_markdown(text: str) -> str:
    """Text still being written (or a notice): escaped and inert, markers not yet linked."""
    return inert(text)


def error_markdown(message: str) -> str:
    return f'<span class="cmo-error">Error:</span> {inert(message)}'


def conversation_markdown(turns: list[tuple[str, Answer]]) -> str:
    """A conversation with its citations, as a Markdown file a user can keep."""
    lines = ["# CMO Assistant conversation", ""]
    for question, answer in turns:
        lines += [f"**Question:** {question}", "", answer.answer, ""]
        for c in answer.citations:
            where = f", {c.section}" if c.section else ""
            quoted = " … ".join(c.text[s:e] for s, e in c.highlights)
            lines.append(f"[{c.marker}] {c.title}{where} ({c.doc_id}): \u201c{quoted}\u201d")
        if answer.closest:
            lines.append("The nearest the sources come:")
            lines += [
                f"- {n.title}{f', {n.section}' if n.section else ''} ({n.doc_id})" for n in answer.closest
            ]
        lines.append("")
    return "\n".join(lines)


def document_rows(stats: dict[str, object], query: str = "") -> list[list[object]]:
    """Rows of the documents table: title, kind, chunks, document id; only those whose title, kind or id holds
    every word of ``query`` (case-insensitive) when one is given."""
    docs = stats.get("per_document", [])
    assert isinstance(docs, list)
    words = query.casefold().split()
    rows = [[d["title"], d["kind"], d["chunks"], d["doc_id"]] for d in docs]
    return [r for r in rows if all(w in f"{r[0]} {r[1]} {r[3]}".casefold() for w in words)]


_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+\u2022]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")
#: ``**strong**`` and ``*emphasis*`` (or with underscores) in text already escaped: only the asterisks or
#: underscores become tags, the text between them stays escaped.
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![*\w])([*_])(?=\S)([^*_]+?)(?<=\S)\1(?![*\w])")


def _formatted(line: str) -> str:
    """One line of a document, escaped and inert, with its bold and italic text as ``<strong>`` and ``<em>``."""
    text = inert(line, links_as_text=False)
    return _EMPHASIS.sub(r"<em>\2</em>", _STRONG.sub(r"<strong>\2</strong>", text))


def document_html(title: str, text: str, pages: Sequence[str] = ()) -> str:
    """A whole document for reading, formatted: its Markdown-like text (the readers write headings as ``#``,
    list items as ``-`` or ``1.``, quotes as ``>``) as headings, lists, quotes and paragraphs, with bold and
    italic text. Every piece of text is escaped and inert; the only tags are the ones written here.

    :param pages: the text page by page (a PDF's): shown as one section per page headed "Page n of N", in
        order, instead of ``text``; the document's own headings then sit one level below the page's.
    """
    head = f"<article class='cmo-document'><h2>{inert(title, links_as_text=False)}</h2>"
    if not pages:
        return head + "".join(_formatted_blocks(text, heading_shift=2)) + "</article>"
    shown = [_page_html(n, len(pages), page) for n, page in enumerate(pages, 1)]
    return head + "".join(shown) + "</article>"


def _page_html(number: int, total: int, text: str) -> str:
    body = _formatted_blocks(text, heading_shift=3) or ["<p class='cmo-empty'>No text on this page.</p>"]
    return (
        f"<section class='cmo-page'><h3 class='cmo-page-number'>Page {number} of {total}</h3>"
        + "".join(body)
        + "</section>"
    )


def _formatted_blocks(text: str, heading_shift: int) -> list[str]:
    """The HTML blocks of a Markdown-like text; a ``#`` heading becomes ``h{1 + heading_shift}`` (at most h6)."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            out.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()
        if items:
            out.append(f"<{list_tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
        list_tag = ""

    for line in text.splitlines():
        heading, bullet, numbered = _HEADING.match(line), _BULLET.match(line), _NUMBERED.match(line)
        quote = _QUOTE.match(line)
        if heading:
            flush()
            level = min(len(heading.group(1)) + heading_shift, 6)
            out.append(f"<h{level}>{_formatted(heading.group(2))}</h{level}>")
        elif quote:
            flush()
            out.append(f"<blockquote>{_formatted(quote.group(1))}</blockquote>")
        elif bullet or numbered:
            tag = "ul" if bullet else "ol"
            if paragraph or (list_tag and list_tag != tag):
                flush()
            list_tag = tag
            items.append(_formatted((bullet or numbered).group(1)))  # type: ignore[union-attr]
        elif not line.strip():
            flush()
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + _formatted(line.strip())
        else:
            if items:
                flush()
            paragraph.append(_formatted(line.strip()))
    flush()
    return out


def timings_line(answer: Answer) -> str:
    t = answer.timings_ms
    return f"retrieval {t['retrieve']:.0f} ms · answer {t['generate']:.0f} ms · total {t['total']:.0f} ms"


#: Characters Markdown (CommonMark, GitHub's autolinks, the chat's renderer) could turn into a link, an image,
#: a reference definition or raw HTML, as character references: shown the same, never markup.
_MARKUP_CHARS = str.maketrans(
    {"[": "&#91;", "]": "&#93;", "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#x27;"}
)
#: An inline link or image, ``[text](url)``: shown as ``text (url)``, what it said and where it pointed.
_INLINE_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(([^()\n]*)\)")
#: A URL scheme (``https:``), ``www.``, ``//`` (a protocol-relative address) and ``@`` (an e-mail address): what a
#: renderer that links bare addresses looks for. ``:``, ``.``, ``/`` and ``@`` become character references there.
_SCHEME = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|data|file|vbscript|blob|ws|wss|sftp|tel)\s*:")
_WWW = re.compile(r"(?i)\bwww\.")
_SLASHES = re.compile(r"//")
_AT = re.compile(r"@")


def inert(text: str, *, links_as_text: bool = True) -> str:
    """The one sanitiser for text the app shows (a user's question, a model's answer or draft, a document):
    HTML escaped and every Markdown link, image, reference definition and autolink broken.

    In the chat (Markdown), an inline link or image is shown as ``text (url)``; ``links_as_text=False`` keeps it
    as written (the source cards and the document view: HTML that is never read as Markdown). Then every ``[``,
    ``]``, ``<``, ``>``, ``&`` and quote becomes a character reference, so no ``[text](url)``, ``![alt][ref]``,
    ``[ref]: url`` or ``<https://...>`` can form however it is nested; a URL scheme's ``:``, ``www.``'s dot,
    ``//`` and an e-mail address's ``@`` become character references too, so a bare address is not linked.
    The app's own markup (the ``[n]`` citation links) is added after this.
    """
    if links_as_text:
        text = _INLINE_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = text.translate(_MARKUP_CHARS)
    text = _SCHEME.sub(r"\1&#58;", text)
    text = _WWW.sub("www&#46;", text)
    text = _SLASHES.sub("/&#47;", text)
    return _AT.sub("&#64;", text)
