"""Loading each supported format into a Document, refusing bad files with a reason, and discovering files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from assistant.errors import DocumentError
from assistant.ingest.chunking import sections
from assistant.ingest.readers import SourceFile, discover, load, read_bytes
from assistant.types import Document

MB = 1024 * 1024


def write(root: Path, rel: str, data: bytes | str) -> SourceFile:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return SourceFile(path=path, root=root, doc_id=rel)


def load_file(source: SourceFile, max_bytes: int = 10 * MB) -> Document:
    return load(source, read_bytes(source, max_bytes))


def reason_for(source: SourceFile, max_bytes: int = 10 * MB) -> str:
    with pytest.raises(DocumentError) as info:
        load_file(source, max_bytes)
    assert info.value.path == str(source.path)
    assert str(source.path) in str(info.value)
    return info.value.reason


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A minimal valid one-page PDF drawing ``lines`` in Helvetica, written by hand."""
    content = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    if title is not None:
        objects.append(f"<< /Title ({title}) >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    info = f" /Info {len(objects)} 0 R" if title is not None else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# -- formats ---------------------------------------------------------------------------------------------------


def test_markdown_front_matter_fields_end_up_in_the_document(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "policies/ms-101.md",
        (
            "---\n"
            'title: "Medical Staff Credentialing"\n'
            "kind: policy\n"
            'policy_number: "MS-101"\n'
            "owner: Chief Medical Officer\n"
            "effective_date: 2025-07-01\n"
            "---\n"
            "\n"
            "## Purpose\n"
            "\n"
            "This policy defines credentialing.\n"
        ),
    )
    doc = load_file(source)
    assert doc.title == "Medical Staff Credentialing"
    assert doc.kind == "policy"
    assert doc.doc_id == "policies/ms-101.md"
    assert doc.metadata == {
        "policy_number": "MS-101",
        "owner": "Chief Medical Officer",
        "effective_date": "2025-07-01",
    }
    assert "---" not in doc.text and "policy_number" not in doc.text
    assert doc.text.strip().startswith("## Purpose")
    assert "This policy defines credentialing." in doc.text


def test_front_matter_kind_article_and_crlf_with_bom(tmp_path: Path) -> None:
    raw = "\ufeff---\r\ntitle: What a CMO does\r\nkind: article\r\n---\r\nThe CMO leads.\r\nSecond line.\r\n"
    doc = load_file(write(tmp_path, "a.md", raw.encode("utf-8")))
    assert (doc.title, doc.kind) == ("What a CMO does", "article")
    assert doc.text == "The CMO leads.\nSecond line.\n"


def test_markdown_without_front_matter_takes_title_from_first_heading(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "notes.md", "Intro.\n\n## Onboarding Plan\n\nText.\n"))
    assert doc.title == "Onboarding Plan"
    assert doc.kind == "policy"


def test_text_file_title_from_name_and_sources_folder_means_article(tmp_path: Path) -> None:
    doc = load_file(
        write(tmp_path, "sources/career-path_notes.txt", "A CMO usually starts as a physician.\n")
    )
    assert doc.title == "Career path notes"
    assert doc.kind == "article"
    assert doc.text == "A CMO usually starts as a physician.\n"


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    data = make_pdf(
        ["Parental leave lasts twelve weeks.", "Requests go to human resources."], title="Leave Policy"
    )
    # The hand-written file is a valid PDF that pypdf itself reads.
    assert "twelve weeks" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    doc = load_file(write(tmp_path, "leave.pdf", data))
    assert "Parental leave lasts twelve weeks." in doc.text
    assert "Requests go to human resources." in doc.text
    assert doc.title == "Leave Policy"


def test_pdf_without_metadata_title_uses_file_name(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "peer-review.pdf", make_pdf(["Peer review is confidential."])))
    assert doc.title == "Peer review"
    assert "Peer review is confidential." in doc.text


def test_docx_headings_become_markdown_headings_and_lists_become_items(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Leave Policy", level=1)
    document.add_paragraph("Staff may take leave. Approval is required.")
    document.add_heading("Eligibility", level=2)
    document.add_paragraph("All employees after ninety days.", style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    doc = load_file(write(tmp_path, "leave.docx", buffer.getvalue()))

    lines = [line for line in doc.text.splitlines() if line.strip()]
    h1 = next(line for line in lines if line.endswith(" Leave Policy"))
    h2 = next(line for line in lines if line.endswith(" Eligibility"))
    assert set(h1.split()[0]) == {"#"} and set(h2.split()[0]) == {"#"}
    assert len(h2.split()[0]) > len(h1.split()[0]), "Heading 2 must nest under Heading 1"
    assert "- All employees after ninety days." in lines
    assert "Staff may take leave. Approval is required." in lines
    assert doc.title == "Leave Policy"
    paths = [s.path for s in sections(doc.text)]
    assert paths == [("Leave Policy",), ("Leave Policy", "Eligibility")]


def test_html_keeps_headings_paragraphs_and_items_but_not_script_or_style(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Onboarding</title>
    <style>.secret-style { color: red }</style>
    <script>var secretScript = "do not index";</script></head>
    <body><h1>New Leaders</h1><p>The first <b>ninety</b> days matter.</p>
    <h2>Checklist</h2><ul><li>Meet the chiefs.</li><li>Read the bylaws.</li></ul>
    <script>console.log("secretScript2")</script></body></html>"""
    doc = load_file(write(tmp_path, "onboarding.html", html))
    assert doc.title == "Onboarding"
    assert "The first ninety days matter." in doc.text
    assert "- Meet the chiefs." in doc.text.splitlines()
    assert "- Read the bylaws." in doc.text.splitlines()
    for hidden in ("secret-style", "color: red", "secretScript", "do not index", "console.log"):
        assert hidden not in doc.text
    assert [s.path for s in sections(doc.text)] == [("New Leaders",), ("New Leaders", "Checklist")]


# -- bad files ---------------------------------------------------------------------------------------------------


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert "empty" in reason_for(write(tmp_path, "empty.md", b""))
    assert "empty" in reason_for(write(tmp_path, "blank.txt", b"  \n\n\t\n"))


def test_binary_content_with_txt_extension_is_refused(tmp_path: Path) -> None:
    reason = reason_for(write(tmp_path, "image.txt", b"GIF89a\x00\x01\x02binary\x00stuff"))
    assert "binary" in reason and "NUL" in reason


def test_non_utf8_text_is_refused_with_the_byte_position(tmp_path: Path) -> None:
    reason = reason_for(write(tmp_path, "latin.md", "Caf\xe9 policy".encode("latin-1")))
    assert "UTF-8" in reason and "position 3" in reason


def test_zip_renamed_docx_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a word document")
    assert "not a valid .docx" in reason_for(write(tmp_path, "notes.docx", buffer.getvalue()))
    assert "not a valid .docx" in reason_for(write(tmp_path, "plain.docx", b"plain text, not a zip"))


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    data = make_pdf(["Parental leave lasts twelve weeks."])
    reason = reason_for(write(tmp_path, "cut.pdf", data[: len(data) // 2]))
    assert "PDF could not be read" in reason


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Confidential peer review."]))))
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    reason = reason_for(write(tmp_path, "locked.pdf", buffer.getvalue()))
    assert "encrypted" in reason


def test_oversized_file_is_refused_with_the_setting_to_raise(tmp_path: Path) -> None:
    source = write(tmp_path, "big.txt", "word " * (MB // 5 * 2))  # 2 MB
    reason = reason_for(source, max_bytes=1 * MB)
    assert "2.0 MB" in reason and "1.0 MB limit" in reason
    assert "CMO_ASSISTANT_MAX_FILE_MB" in reason
    assert "word" in load_file(source, max_bytes=3 * MB).text


def test_unsupported_extension_is_refused(tmp_path: Path) -> None:
    reason = reason_for(write(tmp_path, "chart.png", b"\x89PNG\r\n\x1a\n"))
    assert "unsupported file type .png" in reason and ".md" in reason


def test_front_matter_with_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    reason = reason_for(write(tmp_path, "memo.md", "---\nkind: memo\n---\nText.\n"))
    assert "kind" in reason and "'memo'" in reason


def test_front_matter_that_is_not_valid_yaml_or_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert "not valid YAML" in reason_for(write(tmp_path, "broken.md", "---\ntitle: [unclosed\n---\nText.\n"))
    assert "mapping" in reason_for(write(tmp_path, "list.md", "---\n- a\n- b\n---\nText.\n"))


def test_front_matter_only_file_has_no_text(tmp_path: Path) -> None:
    assert "no text" in reason_for(write(tmp_path, "meta.md", "---\ntitle: Only metadata\n---\n"))


# -- discovery -------------------------------------------------------------------------------------------------


def test_discover_skips_hidden_files_and_folders_and_prefixes_extra_roots(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    extra = tmp_path / "my-policies"
    for rel in ("b.md", "policies/a.md", ".hidden.md", ".git/config.md", "policies/.draft.md"):
        write(corpus, rel, "Text.")
    for rel in ("leave.md", "sub/parking.txt", ".DS_Store"):
        write(extra, rel, "Text.")
    found = list(discover([corpus, extra, tmp_path / "missing"], corpus))
    assert [s.doc_id for s in found] == [
        "b.md",
        "policies/a.md",
        "my-policies/leave.md",
        "my-policies/sub/parking.txt",
    ]
    assert found[1].path == corpus / "policies" / "a.md"
    assert found[1].root == corpus
    assert found[3].path == extra / "sub" / "parking.txt"
