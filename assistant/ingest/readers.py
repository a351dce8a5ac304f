"""Find and load source files into Documents: Markdown/text with front matter, PDF, DOCX and HTML.

Each format is read by a well-kept library (pypdf, python-docx, BeautifulSoup). Headings found in DOCX and HTML
become Markdown headings, so chunking keeps the heading path whatever the format. Anything that cannot be read
raises DocumentError with a reason a user can act on.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
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
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts) or not path.is_file():
                continue
            prefix = "" if root.resolve() == corpus else f"{root.name}/"
            yield SourceFile(path=path, root=root, doc_id=prefix + rel.as_posix())


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
    text, meta = reader(source, data)
    text = _clean(text)
    if not text.strip():
        raise DocumentError(str(source.path), "no text could be extracted (a scanned PDF needs OCR first)")
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


def _split_front_matter(source: SourceFile, text: str) -> tuple[str, dict[str, Any]]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, {}
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise DocumentError(
            str(source.path), f"front matter is not valid YAML ({exc.__class__.__name__})"
        ) from None
    if not isinstance(meta, dict):
        raise DocumentError(str(source.path), "front matter must be a mapping of fields")
    return text[match.end() :], meta


def _read_pdf(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(str(source.path), "PDF is encrypted; save an unencrypted copy and add that")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError, TypeError) as exc:
        raise DocumentError(
            str(source.path), f"PDF could not be read ({exc.__class__.__name__}: {exc})"
        ) from None
    return "\n\n".join(p.strip() for p in pages if p.strip()), {"title": title}


def _read_docx(source: SourceFile, data: bytes) -> str:
    import io
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(str(source.path), f"not a valid .docx file ({exc.__class__.__name__})") from None
    from docx.table import Table

    blocks: list[str] = []
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
        if level:
            blocks.append("#" * min(int(level.group(1)) + 1, 6) + " " + text)
        elif style == "title":
            blocks.append("# " + text)
        elif "list" in style:
            blocks.append("- " + text)
        else:
            blocks.append(text)
    return "\n\n".join(blocks)


def _read_html(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "header", "form", "iframe"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    blocks: list[str] = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre", "blockquote"]):
        if el.find_parent(["p", "li", "td", "pre", "blockquote"]) is not None:
            continue
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name and el.name[0] == "h":
            blocks.append("#" * int(el.name[1]) + " " + text)
        elif el.name == "li":
            blocks.append("- " + text)
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


def _read_docx_text(source: SourceFile, data: bytes) -> tuple[str, dict[str, Any]]:
    return _read_docx(source, data), {}


#: ``{suffix: reader}``: one entry per file type. A new type is one entry here (or ``READERS[".x"] = reader``).
READERS: dict[str, Reader] = {
    ".md": _read_text,
    ".markdown": _read_text,
    ".txt": _read_text,
    ".pdf": _read_pdf,
    ".docx": _read_docx_text,
    ".html": _read_html,
    ".htm": _read_html,
}
