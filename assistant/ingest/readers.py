"""Find and load source files into Documents: Markdown/text with front matter, PDF, DOCX and HTML.

Each format is read by a well-kept library (pdfplumber, python-docx, BeautifulSoup). Headings found in DOCX and
HTML, and recovered from the layout of a PDF (font size, bold, section numbers), become Markdown headings, so
chunking keeps the heading path whatever the format; PDF lines are joined back into paragraphs and list items,
without running headers, footers or page numbers; the same text cut at the page breaks is kept beside it for
reading page by page (``Document.pages``; only the joined text is chunked). Titles come from the document (front matter, PDF or DOCX
properties, <title>) or its first heading, not from its first line. Anything that cannot be read raises
DocumentError with a reason a user can act on.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import DocumentError
from assistant.types import Document

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class SourceFile:
    """A file found under a source root, with the document id it will get."""

    path: Path
    root: Path
    doc_id: str


#: A reader turns a file's bytes into its text (Markdown headings for structure) and metadata (title, kind, ...).
Reader = Callable[[SourceFile, bytes], tuple[str, dict[str, Any]]]


#: Where the shipped example policies live inside the corpus folder (their document ids start with it).
EXAMPLES_PREFIX = "policies/"


def is_example(doc_id: str) -> bool:
    """Whether a document is one of the shipped example policies (organization documents get ids prefixed with
    their own folder's name, or ``uploads/``)."""
    return doc_id.startswith(EXAMPLES_PREFIX)


def supported_suffixes() -> tuple[str, ...]:
    """The file types the assistant reads, as registered in :data:`READERS` (the CLI and the app list these)."""
    return tuple(READERS)


def discover(roots: list[Path], corpus_dir: Path) -> Iterator[SourceFile]:
    """Every file under ``roots`` (hidden files and folders skipped), sorted, with its document id.

    Ids are relative POSIX paths; files outside the shipped corpus are prefixed with their root folder's name
    (``my-policies/leave.md``) so two roots cannot collide silently.
    """
    corpus = corpus_dir.resolve()
    for root in roots:
        if not root.is_dir():
            continue
        real_root = root.resolve()
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts) or not _inside(path, real_root):
                continue
            prefix = "" if real_root == corpus else f"{root.name}/"
            yield SourceFile(path=path, root=root, doc_id=prefix + rel.as_posix())


def _inside(path: Path, real_root: Path) -> bool:
    """A regular file whose real location (symlinks followed) is under ``real_root``: a link to a file or folder
    elsewhere (``/etc/passwd``) or to a device, pipe or socket is never read."""
    try:
        real = path.resolve()
        return real.is_relative_to(real_root) and real.is_file()
    except (OSError, RuntimeError):  # a broken or looping link
        return False


def read_bytes(source: SourceFile, max_bytes: int) -> bytes:
    """The file's bytes, or DocumentError when it is unsupported, empty or above the size limit."""
    path = source.path
    if path.suffix.lower() not in READERS:
        raise DocumentError(
            str(path),
            f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(supported_suffixes())}",
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                str(path),
                f"file is {size / 1048576:.1f} MB, above the {max_bytes / 1048576:.1f} MB limit "
                "(raise CMO_ASSISTANT_MAX_FILE_MB to allow it)",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise DocumentError(str(path), "file is empty")
    return data


def load(source: SourceFile, data: bytes, default_kind: str = "policy") -> Document:
    """Parse ``data`` (the bytes of ``source``) into a Document."""
    reader = READERS.get(source.path.suffix.lower())
    if reader is None:
        raise DocumentError(
            str(source.path),
            f"unsupported file type {source.path.suffix or '(none)'}; supported: {', '.join(supported_suffixes())}",
        )
    try:
        text, meta = reader(source, data)
    except DocumentError:
        raise
    except Exception as exc:  # a hostile or broken file must not stop an ingest: every failure is a reason
        raise DocumentError(str(source.path), f"could not be read ({_describe(exc)})") from None
    text = _clean(text)
    if not text.strip():
        raise DocumentError(str(source.path), "no text could be extracted (a scanned PDF needs OCR first)")
    given = meta.pop(PAGES, ())
    pages = tuple(_clean(str(page)) for page in given) if isinstance(given, list | tuple) else ()
    title = str(meta.pop("title", "") or _first_heading(text) or _title_from_name(source.path))
    kind = str(meta.pop("kind", "") or _kind_from_path(source) or default_kind)
    if kind not in ("article", "policy"):
        raise DocumentError(
            str(source.path), f"front matter kind must be 'article' or 'policy', not {kind!r}"
        )
    return Document(
        doc_id=source.doc_id,
        title=title.strip(),
        kind=kind,
        source_path=str(source.path),
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        metadata={k: str(v) for k, v in meta.items() if v is not None},
        pages=pages,
    )


def _read_text(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    """Markdown or plain text, with optional YAML front matter."""
    return _split_front_matter(source, _decode_text(source, data))


def _decode_text(source: SourceFile, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(str(source.path), "looks like a binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            str(source.path), f"is not UTF-8 text (invalid byte at position {exc.start}); save it as UTF-8"
        ) from None


class _AliasRefused(yaml.YAMLError):
    """Front matter with an anchor or alias: refused before anything is built (a few hundred bytes of nested
    aliases, a "billion laughs", would expand into gigabytes)."""


class _FrontMatterLoader(yaml.SafeLoader):
    """yaml's SafeLoader, without anchors and aliases: front matter is a few plain fields."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AliasRefused("anchors and aliases are not allowed")
        return super().compose_node(parent, index)


def _split_front_matter(source: SourceFile, text: str) -> tuple[str, dict[str, Any]]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, {}
    try:
        meta = yaml.load(match.group(1), Loader=_FrontMatterLoader) or {}  # a SafeLoader
    except _AliasRefused:
        raise DocumentError(
            str(source.path),
            "front matter uses YAML aliases or anchors (&name, *name), which are not allowed",
        ) from None
    except yaml.YAMLError as exc:
        raise DocumentError(
            str(source.path), f"front matter is not valid YAML ({exc.__class__.__name__})"
        ) from None
    if not isinstance(meta, dict):
        raise DocumentError(str(source.path), "front matter must be a mapping of fields")
    return text[match.end() :], meta


#: A PDF can claim any number of pages: only this many are read, and the document's metadata says so.
PDF_MAX_PAGES = 2000
#: The metadata key under which a reader may give the document's text page by page (a tuple of str, one per
#: page, Markdown-like like the text): kept on the Document for reading, never chunked or indexed.
PAGES = "pages"

# Bullet glyphs drawn as text (the Symbol and Wingdings bullets of Word exports included); a dash, asterisk or
# middle dot only with a space after it, and only where a new item can start (see _is_item_start).
_BULLET_GLYPHS = "•●▪■◦○‣⁃∙\uf0b7\uf0a7"
_STRONG_BULLET = re.compile(rf"^[{_BULLET_GLYPHS}]\s*(?=\S)")
_WEAK_BULLET = re.compile(r"^[-–—*·]\s+(?=\S)")
# "1. Purpose", "4.2 Level 2 response", "4.2.1. Escalation": the number, its dot, the title
_NUMBERED_TITLE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})(\.?)\s+(\S.*)$")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
_BLOCK_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
# Page numbers, once digits are replaced by "#": "#", "page #", "page # of #", "# / #", "- # -", "p. #", "iv"
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.)\s*)?#(?:\s*(?:of|/)\s*#)?$|^[-–—]\s*#\s*[-–—]$|^(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})$"
)
_BOLD_FONT = re.compile(r"bold|black|heavy|demi|semibold", re.IGNORECASE)
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")
_HYPHENATED_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
# Titles that PDF writers fill in by themselves: "Microsoft Word - draft3.docx", "Untitled", "Document1"
_PLACEHOLDER_TITLE = re.compile(
    r"^\s*(?:microsoft \w+ - |untitled\b|document\s*\d*\s*$)|\.(?:docx?|pdf|rtf|odt|pages)\s*$", re.IGNORECASE
)


@dataclass
class _Line:
    """One printed line of a PDF page, with what the layout rules need to know about it."""

    text: str
    raw: str  # as printed, bullet glyph included
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    page: int
    text_x0: float  # where the words start (after a bullet glyph)
    bullet: str = ""  # "strong" (a bullet glyph or a drawn dot), "weak" (a dash or asterisk) or ""
    cells: bool = False  # wide gaps inside: a table row or tab-separated columns, never joined to other lines


@dataclass
class _Block:
    """A heading, a list item or a paragraph: the lines that make it up."""

    kind: str  # "heading", "item" or "text"
    lines: list[_Line]
    level: int = 0
    depth: int = 0  # of a numbered heading ("4.2" is 2)


@dataclass(frozen=True)
class _Layout:
    """Measurements of the body text of one PDF."""

    size: float
    bold: bool
    gap: float  # vertical space between two lines above which a new paragraph starts
    left: float
    right: float

    def is_short(self, line: _Line) -> bool:
        """The line stops well before the right margin (it ends its paragraph, or it is a title)."""
        return line.x1 < self.right - 0.12 * max(self.right - self.left, 1.0)

    def same_size(self, a: _Line, b: _Line) -> bool:
        return abs(a.size - b.size) < 0.6


def _read_pdf(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    """A PDF's text rebuilt from its printed lines into headings, paragraphs and list items.

    Lines are read with pdfplumber (font, size and position of each character). Running headers and footers
    and page numbers are dropped, lines are joined into paragraphs (across page breaks too, and words
    hyphenated at a line end are mended), bullets become ``- `` items and larger, bold or numbered short lines
    become ``##`` headings. Whatever goes wrong inside a file becomes a DocumentError for that file.
    """
    try:
        return _read_pdf_layout(source, data)
    except DocumentError:
        raise
    except Exception as exc:  # a hostile or broken file must not stop an ingest: every failure is a reason
        raise DocumentError(str(source.path), f"PDF could not be read ({_describe(exc)})") from None


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    if len(message) > 200:
        message = message[:200] + "..."
    return f"{exc.__class__.__name__}: {message}" if message else exc.__class__.__name__


def _read_pdf_layout(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    import io

    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdftypes import resolve1
    from pdfplumber.page import Page
    from pdfplumber.utils.exceptions import PdfminerException

    # pdfminer logs a warning for every oddity of a file it still reads; the reader reports what matters itself
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    encrypted = DocumentError(str(source.path), "PDF is encrypted; save an unencrypted copy and add that")
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if isinstance(cause, PDFEncryptionError):
            raise encrypted from None
        raise DocumentError(str(source.path), f"PDF could not be read ({_describe(cause)})") from None
    if pdf.doc.encryption is not None:  # opens without a password, but is still protected: refused as before
        raise encrypted

    pages: list[list[_Line]] = []
    heights: list[float] = []
    truncated = False
    doctop = 0.0
    # Pages are created one at a time (pdfplumber's PDF.pages would parse every page of the file first).
    for number, page_obj in enumerate(PDFPage.create_pages(pdf.doc), 1):
        if number > PDF_MAX_PAGES:
            truncated = True
            break
        page = Page(pdf, page_obj, page_number=number, initial_doctop=doctop)
        try:
            heights.append(float(page.height))
            doctop += float(page.height)
            pages.append(_page_lines(page, number - 1))
        finally:
            page.close()

    meta: dict[str, Any] = {}
    if truncated:
        tree = resolve1(pdf.doc.catalog.get("Pages"))
        total = resolve1(tree.get("Count")) if isinstance(tree, dict) else None
        of_total = f" of {total}" if isinstance(total, int) and total > PDF_MAX_PAGES else ""
        meta["truncated"] = f"only the first {PDF_MAX_PAGES}{of_total} pages were read"

    _drop_running_lines(pages, heights)
    read = _pdf_markdown(pages)
    text, shown_title, by_page = read.text, read.title, list(read.pages)
    info_title = pdf.metadata.get("Title")
    title = " ".join(_CONTROL.sub("", info_title).split()) if isinstance(info_title, str) else ""
    if not title or _PLACEHOLDER_TITLE.search(title):
        title = shown_title
    elif shown_title and _fold(shown_title) != _fold(title):
        text = f"{shown_title}\n\n{text}"  # the printed title differs from the metadata: keep it as text
        by_page[0] = f"{shown_title}\n\n{by_page[0]}"
    meta["title"] = title
    meta[PAGES] = tuple(by_page)
    return text, meta


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _page_lines(page: Any, index: int) -> list[_Line]:
    """The printed lines of one page, top to bottom, with their font, size, position and bullet."""
    # Bullets drawn as small filled shapes (a dot or a square) just left of a line's first word.
    markers = [
        (float(o["x0"]), float(o["x1"]), (float(o["top"]) + float(o["bottom"])) / 2)
        for o in (*page.curves, *page.rects)
        if o.get("fill") and 0.5 < float(o["width"]) <= 8 and 0.5 < float(o["height"]) <= 8
    ]
    lines: list[_Line] = []
    for raw in _text_lines(_deduplicated(page)):
        chars = [c for c in raw["chars"] if str(c.get("text", "")).strip()]
        text = " ".join(_UNMAPPED_GLYPH.sub("", str(raw["text"])).translate(_LIGATURES).split())
        if not text or not chars:
            continue
        size = Counter(round(float(c["size"]), 1) for c in chars).most_common(1)[0][0]
        bold = sum(1 for c in chars if _BOLD_FONT.search(str(c.get("fontname", "")))) >= 0.8 * len(chars)
        x0, top, bottom = float(raw["x0"]), float(raw["top"]), float(raw["bottom"])
        line = _Line(text, text, x0, float(raw["x1"]), top, bottom, size, bold, index, x0)
        line.cells = bool(_wide_gaps(raw))
        glyph = _STRONG_BULLET.match(text) or _WEAK_BULLET.match(text)
        if glyph:
            line.text = text[glyph.end() :]
            line.bullet = "strong" if glyph.re is _STRONG_BULLET else "weak"
            line.text_x0 = float(chars[1]["x0"]) if len(chars) > 1 else x0
        elif any(
            mx1 <= x0 + 1 and x0 - 40 <= mx0 and top - 2 <= my <= bottom + 2 for mx0, mx1, my in markers
        ):
            line.bullet = "strong"
        lines.append(line)
    return lines


def _deduplicated(page: Any) -> Any:
    """The page without characters printed twice over each other (fake bold), which would read "PPuurrppoossee".

    pdfplumber's dedupe is slow, so it runs only on a page where a cheap look finds a character repeated at
    (about) the same place.
    """
    seen: set[tuple[str, int, int]] = set()
    for char in page.chars:
        text = str(char["text"])
        if not text.strip():
            continue
        x, y = round(float(char["x0"])), round(float(char["top"]))
        if any((text, x + dx, y + dy) in seen for dx in (-1, 0, 1) for dy in (-1, 0, 1)):
            return page.dedupe_chars()
        seen.add((text, x, y))
    return page


def _text_lines(page: Any) -> list[dict[str, Any]]:
    """pdfplumber's text lines of a page in reading order: a page set in two columns is read column by column.

    Lines printed across the whole width (a title, a running header, a table row) stay whole, where they are.
    """
    lines: list[dict[str, Any]] = page.extract_text_lines(return_chars=True, strip=True)
    columns = _columns(lines, float(page.width))
    if columns is None:
        return lines
    gutter = columns[0]
    x0, top, x1, bottom = (float(v) for v in page.bbox)
    ordered: list[dict[str, Any]] = []
    run: list[dict[str, Any]] = []  # consecutive lines of the two columns

    def flush() -> None:
        if run:
            band = max(top, float(run[0]["top"]) - 1), min(bottom, float(run[-1]["bottom"]) + 1)
            for left, right in ((x0, gutter), (gutter, x1)):
                column = page.within_bbox((left, band[0], right, band[1]))
                ordered.extend(column.extract_text_lines(return_chars=True, strip=True))
            run.clear()

    for line in lines:
        if _in_columns(line, columns):
            run.append(line)
        else:
            flush()
            ordered.append(line)
    flush()
    return ordered


def _printed(line: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in line["chars"] if str(c["text"]).strip()]


def _wide_gaps(line: dict[str, Any]) -> list[float]:
    """Middles of the wide empty stretches inside a line: between two columns, or table cells, or tab stops.

    A gap right after the first few characters (a bullet or a section number followed by a tab) does not count.
    """
    printed = sorted(_printed(line), key=lambda c: float(c["x0"]))
    size = max((float(c["size"]) for c in printed), default=10.0)
    return [
        (float(a["x1"]) + float(b["x0"])) / 2
        for i, (a, b) in enumerate(itertools.pairwise(printed))
        if i >= 6 and float(b["x0"]) - float(a["x1"]) >= max(12.0, 1.5 * size)
    ]


def _split_at(line: dict[str, Any], x: float) -> tuple[float | None, float | None] | None:
    """Where the words left of ``x`` end and those right of it start (None for a side without words);
    None when a word runs over ``x``."""
    printed = _printed(line)
    if any(float(c["x0"]) < x < float(c["x1"]) for c in printed):
        return None
    left = [float(c["x1"]) for c in printed if float(c["x1"]) <= x]
    right = [float(c["x0"]) for c in printed if float(c["x0"]) >= x]
    return (max(left) if left else None), (min(right) if right else None)


def _fills(line: dict[str, Any], columns: tuple[float, float, float]) -> tuple[bool, bool]:
    """Whether the line's words reach across most of the left column, and of the right one."""
    gutter, left_edge, right_edge = columns
    split = _split_at(line, gutter)
    left, right = split if split is not None else (None, None)
    return (
        left is not None and left - left_edge >= 0.75 * (gutter - left_edge),
        right is not None and float(line["x1"]) - gutter >= 0.75 * (right_edge - gutter),
    )


def _in_columns(line: dict[str, Any], columns: tuple[float, float, float]) -> bool:
    """The line belongs to one of the two columns (or to both, side by side), not across them."""
    split = _split_at(line, columns[0])
    if split is None:
        return False
    left, right = split
    if left is None or right is None:
        return True
    return right - left >= 10 and any(_fills(line, columns))  # a table row's cells are short


def _columns(lines: list[dict[str, Any]], width: float) -> tuple[float, float, float] | None:
    """The gutter between two columns of prose and the columns' outer edges, or None (one column, or a table)."""
    if len(lines) < 8:
        return None
    centres = [gaps[0] for gaps in map(_wide_gaps, lines) if len(gaps) == 1]
    if len(centres) < max(8, 0.5 * len(lines)):
        return None
    gutter = statistics.median(centres)
    if not 0.3 * width < gutter < 0.7 * width:
        return None
    both = [line for line in lines if None not in (_split_at(line, gutter) or (None,))]
    if len(both) < max(8, 0.5 * len(lines)):
        return None
    columns = gutter, min(float(line["x0"]) for line in both), max(float(line["x1"]) for line in both)
    # Prose fills both columns on most lines; the cells of a two-column table mostly do not.
    if sum(all(_fills(line, columns)) for line in both) < 0.5 * len(both):
        return None
    return columns


def _drop_running_lines(pages: list[list[_Line]], heights: list[float]) -> None:
    """Remove page numbers, and the headers and footers repeated at the top or bottom of most pages.

    A running line is printed in the outer band of the page (its top or bottom 12%), among the first or last
    three lines, at the same place on at least 40% of the pages (two at least), its digits aside ("Page 2 of
    5"). Page numbers ("3", "Page 3 of 5", "- 3 -") among those lines go on any page. Nothing goes when that
    would leave no text at all.
    """

    def key(line: _Line, height: float) -> tuple[str, bool]:
        return re.sub(r"\d+", "#", " ".join(line.raw.lower().split())), line.top < height / 2

    def edges(lines: list[_Line], height: float, band: float) -> list[_Line]:
        near = lines if len(lines) <= 6 else lines[:3] + lines[-3:]
        return [x for x in near if x.top < band * height or x.bottom > (1 - band) * height]

    # (text with digits as "#", printed in the top half) -> where it was printed, once per page
    seen: dict[tuple[str, bool], list[float]] = {}
    for lines, height in zip(pages, heights, strict=True):
        on_page: dict[tuple[str, bool], float] = {}
        for line in edges(lines, height, 0.12):
            on_page.setdefault(key(line, height), line.top)
        for k, top in on_page.items():
            seen.setdefault(k, []).append(top)
    needed = max(2, math.ceil(0.4 * len(pages)))
    running = {k: statistics.median(tops) for k, tops in seen.items() if len(tops) >= needed}
    kept: list[list[_Line]] = []
    for lines, height in zip(pages, heights, strict=True):
        drop: set[int] = set()
        for line in edges(lines, height, 0.15):
            k = key(line, height)
            where = running.get(k)
            if (where is not None and abs(line.top - where) <= 6) or _PAGE_NUMBER.match(k[0]):
                drop.add(id(line))
        kept.append([line for line in lines if id(line) not in drop])
    if any(kept):  # when every line would go, the "running" lines are the text (one line a page, say)
        pages[:] = kept


@dataclass(frozen=True)
class _PdfText:
    """What the layout rules make of a PDF's lines."""

    text: str  # the whole document, paragraphs joined across page breaks (what is chunked)
    title: str  # the title printed atop page 1, or ""
    pages: tuple[str, ...]  # each page's own part of the text, for reading page by page


def _pdf_markdown(pages: list[list[_Line]]) -> _PdfText:
    """Markdown-like text of the pages' lines, the document title printed on the first page (if any), and the
    same text cut at the page breaks (a paragraph running over a break goes on at the top of the next page)."""
    if not any(pages):
        return _PdfText("", "", tuple("" for _ in pages))
    layout = _measure(pages)
    blocks = _blocks(pages, layout)
    title = _heading_levels(blocks, pages[0])
    hyphenated = _hyphenated_words(pages)
    body = [b for b in blocks if b.kind != "title"]
    on_page: list[list[_Block]] = [[] for _ in pages]
    for block in body:
        begun = block.lines[0].page
        for page, lines in itertools.groupby(block.lines, key=lambda line: line.page):
            # the rest of a paragraph or item begun on the page before reads as a paragraph atop this one
            kind = block.kind if page == begun else "text"
            on_page[page].append(_Block(kind, list(lines), block.level, block.depth))
    return _PdfText(
        _blocks_markdown(body, hyphenated) + "\n",
        title,
        tuple(_blocks_markdown(page, hyphenated) for page in on_page),
    )


def _blocks_markdown(blocks: list[_Block], hyphenated: set[str]) -> str:
    """Headings as ``#``, list items as ``- `` (one line apart), paragraphs and headings a blank line apart."""
    parts: list[str] = []
    previous = ""
    levels = _item_levels(blocks)
    for number, block in enumerate(blocks):
        text = _join_lines(block.lines, hyphenated)
        if block.kind == "heading":
            text = "#" * block.level + " " + text
        elif block.kind == "item":
            text = "   " * levels.get(number, 0) + "- " + text
        if parts:
            parts.append("\n" if block.kind == previous == "item" else "\n\n")
        parts.append(text)
        previous = block.kind
    return "".join(parts)


#: Bullets printed this far apart (points) or closer stand at the same level of a list.
_SAME_LEVEL = 3.0


def _item_levels(blocks: list[_Block]) -> dict[int, int]:
    """How deep each list item is nested (by its block's place in ``blocks``; 0 when not nested): in a run of
    items, one whose bullet is printed further right than another's is a level in."""
    levels: dict[int, int] = {}
    runs = itertools.groupby(enumerate(blocks), key=lambda pair: pair[1].kind == "item")
    for is_item, run in runs:
        if not is_item:
            continue
        items = list(run)
        lefts: list[float] = []
        for x0 in sorted(block.lines[0].x0 for _, block in items):
            if not lefts or x0 - lefts[-1] > _SAME_LEVEL:
                lefts.append(x0)
        for number, block in items:
            levels[number] = sum(1 for left in lefts if block.lines[0].x0 - left > _SAME_LEVEL)
    return levels


def _measure(pages: list[list[_Line]]) -> _Layout:
    """Body font size, whether the body is bold, paragraph spacing and the text column's margins."""
    weight: Counter[float] = Counter()
    for line in itertools.chain.from_iterable(pages):
        weight[line.size] += len(line.text)
    size = weight.most_common(1)[0][0]
    body = [line for line in itertools.chain.from_iterable(pages) if abs(line.size - size) < 0.6]
    bold = sum(len(x.text) for x in body if x.bold) > 0.5 * sum(len(x.text) for x in body)
    # The usual space between two lines of a paragraph is the smallest gap that occurs often.
    gaps: Counter[float] = Counter(
        round(2 * (b.top - a.bottom)) / 2
        for page in pages
        for a, b in itertools.pairwise(page)
        if abs(a.size - size) < 0.6 and abs(b.size - size) < 0.6 and -size < b.top - a.bottom < 2 * size
    )
    floor = max(2.0, 0.05 * sum(gaps.values()))
    common = [gap for gap, count in gaps.items() if count >= floor]
    leading = min(common) if common else 0.25 * size
    left = Counter(round(x.x0) for x in body).most_common(1)[0][0]
    rights = sorted(x.x1 for x in body)
    right = rights[int(0.95 * (len(rights) - 1))]
    return _Layout(size=size, bold=bold, gap=leading + max(1.5, 0.3 * size), left=left, right=right)


def _section_depth(text: str) -> int:
    """2 for "4.2 Level 2 response", 1 for "1. Purpose", 0 when the text does not start with a section number."""
    match = _NUMBERED_TITLE.match(text)
    if not match:
        return 0
    number, dot, rest = match.groups()
    depth = number.count(".") + 1
    if (depth == 1 and not dot) or not rest[:1].isupper():
        return 0  # "12 months", "3. the next step"
    return depth


def _titleish(text: str, max_words: int) -> bool:
    """Short, not ending like a sentence or a lead-in, starting with a capital: could be a heading."""
    words = text.split()
    letters = [ch for ch in text if ch.isalpha()]
    return (
        0 < len(words) <= max_words
        and len(text) <= 160
        and text[-1] not in ".,;:"
        and bool(letters)
        and letters[0].isupper()
    )


def _heading_styled(line: _Line, layout: _Layout) -> bool:
    return line.size >= layout.size + 1 or (line.bold and not layout.bold and line.size > layout.size - 0.6)


def _heading_roles(lines: list[_Line], layout: _Layout) -> list[str]:
    """For each line of a page: "heading" (starts one), "more" (continues the heading above) or ""."""
    roles = [""] * len(lines)
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.bullet == "strong":
            i += 1
            continue
        if not _heading_styled(line, layout):
            if _body_section_title(lines, i, layout):
                roles[i] = "heading"
            i += 1
            continue
        # a run of lines in the same heading style: one heading printed on several lines, or bold text
        j = i + 1
        limit = layout.gap * max(1.0, line.size / layout.size)
        while (
            j < len(lines)
            and not lines[j].bullet
            and abs(lines[j].size - line.size) < 0.6
            and lines[j].bold == line.bold
            and lines[j].top - lines[j - 1].bottom <= limit
            and not _section_depth(lines[j].text)
        ):
            j += 1
        run = " ".join(x.text for x in lines[i:j])
        if _titleish(run, 20) and not any(_SENTENCE_END.search(x.text) for x in lines[i:j]):
            roles[i] = "heading"
            roles[i + 1 : j] = ["more"] * (j - i - 1)
        i = j
    return roles


def _body_section_title(lines: list[_Line], i: int, layout: _Layout) -> bool:
    """A numbered section title printed in the body font ("4.2 Level 2 response"), standing on its own line."""
    line = lines[i]
    depth = _section_depth(line.text)
    if not depth or line.bullet or not _titleish(line.text, 10) or not layout.is_short(line):
        return False
    prev = lines[i - 1] if i else None
    after = lines[i + 1] if i + 1 < len(lines) else None
    if prev is not None and not (
        _SENTENCE_END.search(prev.text)
        or line.top - prev.bottom > layout.gap
        or _heading_styled(prev, layout)
    ):
        return False  # the line goes on from the text above it
    if after is not None and not (after.text[:1].isupper() or after.text[:1].isdigit() or after.bullet):
        return False
    # "1. Submit the form" and "2. Wait for approval" one under the other are a numbered list, not sections
    for a, b in ((prev, line), (line, after)):
        if a is not None and b is not None and b.top - a.bottom <= layout.gap:
            other = b if a is line else a
            if _section_depth(other.text) == depth and layout.same_size(a, b):
                return False
    return True


def _is_item_start(line: _Line, prev: _Line | None, last: _Block | None, layout: _Layout) -> bool:
    """A bullet glyph or a drawn dot starts an item; a dash or asterisk only where a new block can start."""
    if line.bullet == "strong":
        return True
    if line.bullet != "weak":
        return False
    return (
        prev is None
        or last is None
        or last.kind != "text"
        or bool(_BLOCK_END.search(prev.text))
        or line.top - prev.bottom > layout.gap
    )


def _continues(block: _Block, prev: _Line, line: _Line, layout: _Layout) -> bool:
    """Whether ``line`` goes on with ``block``, whose last line ``prev`` is printed just above it."""
    if block.kind == "heading" or block.lines[-1] is not prev or not layout.same_size(prev, line):
        return False
    if prev.cells or line.cells:
        return False
    if line.top - prev.bottom > layout.gap * max(1.0, line.size / layout.size):
        return False
    if _BLOCK_END.search(prev.text) and layout.is_short(prev):
        return False  # a short last line ending a sentence ends its paragraph
    if block.kind == "item":
        return line.x0 >= block.lines[0].text_x0 - 3
    if len(block.lines) == 1:
        return line.x0 >= block.lines[0].x0 - 40  # the first line may be indented
    if _SENTENCE_END.search(prev.text) and line.x0 > min(x.x0 for x in block.lines) + 5:
        return False  # an indented first line starts a new paragraph
    return line.x0 >= min(x.x0 for x in block.lines[1:]) - 3


def _continues_across_pages(block: _Block, line: _Line, layout: _Layout) -> bool:
    """A paragraph or item whose last line on the previous page does not end a sentence goes on here."""
    last = block.lines[-1]
    if _SENTENCE_END.search(last.text) or not layout.same_size(last, line) or last.cells or line.cells:
        return False
    if block.kind == "item":
        return abs(line.x0 - last.x0) <= 3
    return True


def _open_block(blocks: list[_Block], page: int, layout: _Layout) -> _Block | None:
    """The body paragraph or item that ends page ``page`` (below it, at most footnotes in smaller type)."""
    for block in reversed(blocks):
        last = block.lines[-1]
        if last.page != page:
            return None
        if block.kind in ("text", "item") and abs(last.size - layout.size) < 0.6:
            return block
        if block.kind != "text" or last.size >= layout.size:
            return None
    return None


def _blocks(pages: list[list[_Line]], layout: _Layout) -> list[_Block]:
    """Group the lines into headings, list items and paragraphs."""
    blocks: list[_Block] = []
    carry: _Block | None = None
    for lines in pages:
        roles = _heading_roles(lines, layout)
        for i, line in enumerate(lines):
            prev = lines[i - 1] if i else None
            last = blocks[-1] if blocks else None
            if roles[i] == "more" and last is not None and last.kind == "heading":
                last.lines.append(line)
            elif roles[i]:
                blocks.append(_Block("heading", [line], depth=_section_depth(line.text)))
            elif _is_item_start(line, prev, last, layout):
                blocks.append(_Block("item", [line]))
            else:
                if line.bullet == "weak":
                    line.text, line.text_x0 = line.raw, line.x0  # the dash belongs to the sentence
                if prev is None:
                    target = carry if carry and _continues_across_pages(carry, line, layout) else None
                else:
                    target = last if last and _continues(last, prev, line, layout) else None
                if target is None:
                    blocks.append(_Block("text", [line]))
                else:
                    target.lines.append(line)
        if lines:
            carry = _open_block(blocks, lines[0].page, layout)
    return blocks


def _heading_levels(blocks: list[_Block], first_page: list[_Line]) -> str:
    """Give each heading its Markdown level; return the title printed atop page 1, larger than any other heading
    (it is the document's title, not a section, so it is no longer a heading).

    Numbered headings take their level from the number ("4." -> ``##``, "4.2" -> ``###``); other headings the
    level of numbered headings in the same style, else one level per font size, largest first, from ``##``.
    """
    headings = [b for b in blocks if b.kind == "heading"]
    if not headings:
        return ""
    title = ""
    first, others = headings[0], headings[1:]
    size = first.lines[0].size
    at_top = any(line is first.lines[0] for line in first_page[:3])
    if at_top and not first.depth and all(size > h.lines[0].size + 0.5 for h in others):
        first.kind = "title"
        title = " ".join(x.text for x in first.lines)
        headings = others

    def style(block: _Block) -> tuple[float, bool]:
        return round(block.lines[0].size), block.lines[0].bold

    numbered: dict[tuple[float, bool], Counter[int]] = {}
    for block in headings:
        if block.depth:
            block.level = min(6, block.depth + 1)
            numbered.setdefault(style(block), Counter())[block.level] += 1
    sizes = sorted({style(b)[0] for b in headings}, reverse=True)
    for block in headings:
        if not block.depth:
            levels = numbered.get(style(block))
            block.level = levels.most_common(1)[0][0] if levels else min(6, 2 + sizes.index(style(block)[0]))
    return title


def _hyphenated_words(pages: list[list[_Line]]) -> set[str]:
    """Words printed with a hyphen inside a line ("follow-up"), and each hyphenated pair within them."""
    words: set[str] = set()
    for line in itertools.chain.from_iterable(pages):
        for word in _HYPHENATED_WORD.findall(line.text):
            parts = word.lower().split("-")
            words.add("-".join(parts))
            words.update(f"{a}-{b}" for a, b in itertools.pairwise(parts))
    return words


def _join_lines(lines: list[_Line], hyphenated: set[str]) -> str:
    text = lines[0].text
    for line in lines[1:]:
        text = _join(text, line.text, hyphenated)
    return text


def _join(left: str, right: str, hyphenated: set[str]) -> str:
    """Two printed lines as one: a space between, or none where a word or a link was broken at the line end."""
    if left.endswith("\u00ad"):  # soft hyphen: only there to break the word
        return left[:-1] + right
    broken = re.search(r"(\S*?)([^\W\d_]+)[-‐]$", left)
    if broken:
        head, prefix = broken.groups()
        word = re.match(r"[^\W\d_]+(?:-[^\W\d_]+)*", right)
        if (
            word is not None
            and right[:1].islower()
            and not head.endswith(("-", "‐"))
            and "-" not in word.group()
            and f"{prefix}-{word.group()}".lower() not in hyphenated
        ):
            return left[:-1] + right  # "respon-" + "sibility"
        return left + right  # "follow-" + "up" where "follow-up" is printed elsewhere, "MS-" + "101"
    if len(left) > 1 and left[-1] in "-‐–—/" and not left[-2].isspace():
        last_word = left.rsplit(None, 1)[-1]
        if left[-1] != "/" or "://" in last_word or last_word.startswith("www."):
            return left + right
    return f"{left} {right}"


def _read_docx(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    """Paragraphs, headings, list items and table rows of a .docx, and its title.

    The title is the document's own (core properties), else its first heading, else the file name: never the
    first line, which is often the organization's name on the letterhead.
    """
    import io
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_docx_archive(source, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(str(source.path), f"not a valid .docx file ({exc.__class__.__name__})") from None
    except (
        Exception
    ) as exc:  # malformed XML inside (lxml's XMLSyntaxError) and whatever else a broken file does
        raise DocumentError(str(source.path), f"not a valid .docx file ({_describe(exc)})") from None
    try:
        return _docx_text(source, document)
    except Exception as exc:
        raise DocumentError(str(source.path), f"not a valid .docx file ({_describe(exc)})") from None


#: A .docx is a zip: refused unread when it would unpack to more than this, or one member is compressed more
#: than DOCX_MAX_RATIO times (a zip bomb; real documents compress 3 to 20 times).
DOCX_MAX_UNCOMPRESSED = 50 * 1024 * 1024
DOCX_MAX_RATIO = 100
_RATIO_MIN_SIZE = 1024 * 1024  # below this, a member's ratio does not matter (it cannot amount to much)


def _check_docx_archive(source: SourceFile, data: bytes) -> None:
    """DocumentError for a .docx that would unpack to too much (checked from the zip's directory, nothing is
    decompressed)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise DocumentError(str(source.path), f"not a valid .docx file ({exc.__class__.__name__})") from None
    total = sum(m.file_size for m in members)
    if total > DOCX_MAX_UNCOMPRESSED:
        raise DocumentError(
            str(source.path),
            f"not a valid .docx file: it would unpack to {total / 1048576:.0f} MB, above the "
            f"{DOCX_MAX_UNCOMPRESSED / 1048576:.0f} MB limit (a zip bomb, or far more than a document holds)",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_MIN_SIZE and ratio > DOCX_MAX_RATIO:
            raise DocumentError(
                str(source.path),
                f"not a valid .docx file: {member.filename} is compressed {ratio:.0f} times, above the "
                f"{DOCX_MAX_RATIO} times limit (a zip bomb)",
            )


def _docx_text(source: SourceFile, document: Any) -> tuple[str, dict[str, Any]]:
    from docx.table import Table

    blocks: list[str] = []
    first_heading = ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                blocks.append(" | ".join(dict.fromkeys(c for c in cells if c)))
            continue
        para = item
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        level = re.match(r"heading (\d)", style)
        if (level or style == "title") and not first_heading:
            first_heading = " ".join(text.split())
        if level:
            blocks.append("#" * min(int(level.group(1)) + 1, 6) + " " + text)
        elif style == "title":
            blocks.append("# " + text)
        elif "list" in style:
            blocks.append("   " * _docx_list_level(para, style) + "- " + text)
        else:
            blocks.append(text)
    title = " ".join(_CONTROL.sub("", document.core_properties.title or "").split())
    if not title or _PLACEHOLDER_TITLE.search(title):
        title = first_heading or _title_from_name(source.path)
    return "\n\n".join(blocks), {"title": title}


def _docx_list_level(para: Any, style: str) -> int:
    """How deep a list paragraph is nested (0: not nested): its numbering level, else its style's number ("List
    Bullet 2" is one level in). Written as indentation, so a nested list is read under the item it follows."""
    num = para._p.pPr.numPr if para._p.pPr is not None else None
    if num is not None and num.ilvl is not None and num.ilvl.val is not None:
        return min(int(num.ilvl.val), 5)
    number = re.search(r"(\d)$", style)
    return min(int(number.group(1)) - 1, 5) if number else 0


def _read_html(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    # The title: <title>, else the first <h1> (looked for before the page header is removed, as it is often in it)
    title = " ".join(soup.title.get_text(" ", strip=True).split()) if soup.title else ""
    if not title and (h1 := soup.find("h1")) is not None:
        title = " ".join(h1.get_text(" ", strip=True).split())
    for tag in soup(["nav", "footer", "header", "form", "iframe"]):
        tag.decompose()
    blocks: list[str] = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre", "blockquote"]):
        inside = (
            ["p", "td", "pre", "blockquote"] if el.name == "li" else ["p", "li", "td", "pre", "blockquote"]
        )
        if el.find_parent(inside) is not None:
            continue
        if el.name == "li":  # its own words; a list nested in it follows as its own items, a level in
            own = [
                piece
                for piece in el.find_all(string=True)
                if type(piece) is NavigableString and piece.find_parent("li") is el  # not a comment
            ]
            text = " ".join(" ".join(own).split())
        else:
            text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name and el.name[0] == "h":
            blocks.append("#" * int(el.name[1]) + " " + text)
        elif el.name == "li":
            blocks.append("   " * min(len(el.find_parents("li")), 5) + "- " + text)
        else:
            blocks.append(text)
    if not blocks:
        body = soup.body or soup
        blocks = [line.strip() for line in body.get_text("\n").splitlines() if line.strip()]
    return "\n\n".join(blocks), {"title": title}


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text)


def _first_heading(text: str) -> str:
    match = re.search(r"^#{1,6}[ \t]+(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name


def _kind_from_path(source: SourceFile) -> str:
    parts = Path(source.doc_id).parts
    if parts and parts[0] == "sources":
        return "article"
    return ""


#: ``{suffix: reader}``: one entry per file type. A new type is one entry here (or ``READERS[".x"] = reader``).
READERS: dict[str, Reader] = {
    ".md": _read_text,
    ".markdown": _read_text,
    ".txt": _read_text,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
    ".html": _read_html,
    ".htm": _read_html,
}
