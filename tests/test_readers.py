"""Readers on real layouts: the example policy PDFs and .docx of the corpus, PDFs written with fpdf2, hostile PDFs.

A PDF is read back into whole paragraphs and list items (not printed lines), without its running header, footer
or page numbers, with its section titles as ``##``/``###`` headings; titles come from the document's metadata or
its first heading, never from a letterhead line. (Refusals of bad files are in test_corpus.py and
test_bad_documents.py.)
"""

from __future__ import annotations

import importlib.util
import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import docx
import pytest
from fpdf import FPDF

from assistant.config import PROJECT_ROOT
from assistant.errors import DocumentError
from assistant.ingest import readers
from assistant.ingest.chunking import Chunker, sections
from assistant.ingest.readers import SourceFile, load
from assistant.ingest.sentences import split_units
from assistant.search.embeddings import Embedder
from assistant.types import Document

POLICIES = PROJECT_ROOT / "corpus" / "policies"
CE801 = "ce-801-escalation-of-clinical-concerns.pdf"
ML901 = "ml-901-medical-staff-leave-of-absence.pdf"
OC701 = "oc-701-physician-on-call-coverage.docx"
PAGE_N_OF_M = re.compile(r"Page \d+ of \d+")


def _source_texts() -> ModuleType:
    """evals/build_example_policies.py, which holds the text the example PDFs and .docx were written from."""
    spec = importlib.util.spec_from_file_location(
        "build_example_policies", PROJECT_ROOT / "evals" / "build_example_policies.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCE = _source_texts()


def load_path(path: Path, data: bytes | None = None) -> Document:
    return load(
        SourceFile(path=path, root=path.parent, doc_id=path.name), path.read_bytes() if data is None else data
    )


def load_bytes(tmp_path: Path, name: str, data: bytes) -> Document:
    path = tmp_path / name
    path.write_bytes(data)
    return load_path(path)


@pytest.fixture(scope="module")
def example() -> Callable[[str], Document]:
    loaded: dict[str, Document] = {}

    def get(name: str) -> Document:
        if name not in loaded:
            loaded[name] = load_path(POLICIES / name)
        return loaded[name]

    return get


def expected_lines(name: str) -> list[str]:
    """Each heading, paragraph and list item of a policy as the reader should give it back: one line each."""
    _, _, blocks = SOURCE.POLICIES[name]
    lines: list[str] = []
    for kind, content in blocks:
        if kind == "h2":
            lines.append(f"## {content}")
        elif kind == "h3":
            lines.append(f"### {content}")
        elif kind == "p":
            lines.append(content)
        else:
            lines.extend(f"- {item}" for item in content)
    return lines


# -- the example policy PDFs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [CE801, ML901])
def test_every_heading_paragraph_and_item_of_the_example_pdfs_comes_back_whole(
    name: str, example: Callable[[str], Document]
) -> None:
    lines = example(name).text.splitlines()
    want = expected_lines(name)
    missing = [line for line in want if line not in lines]
    assert not missing, f"{len(missing)} of {len(want)} blocks not found whole, e.g. {missing[:3]}"
    # ... in the printed order, and nothing but them after the title block (metadata line and note)
    body = [line for line in lines if line.strip()]
    start = body.index(want[0])
    assert body[start:] == want
    _, meta, _ = SOURCE.POLICIES[name]
    assert body[:start] == [meta, SOURCE.NOTE]


def test_a_sentence_broken_across_lines_and_a_page_is_one_sentence(
    example: Callable[[str], Document],
) -> None:
    sentence = (
        "A practitioner whose leave lasts longer than 24 months in total must reapply for membership and "
        "privileges as a new applicant under policy MS-101."
    )
    doc = example(ML901)
    assert sentence in doc.text.splitlines()  # its own paragraph, no header or footer text inside
    assert sentence in [doc.text[u.start : u.end] for u in split_units(doc.text)]
    # CE-801 breaks a sentence between pages 2 and 3, with the footer and the running header in between
    ce = example(CE801)
    assert (
        "At Level 4, the department chair or administrator on call contacts the CMO, or the CMO's designee "
        "when the CMO cannot be reached."
    ) in ce.text.splitlines()


@pytest.mark.parametrize(("name", "number"), [(CE801, "CE-801"), (ML901, "ML-901")])
def test_running_header_footer_and_page_numbers_are_gone(
    name: str, number: str, example: Callable[[str], Document]
) -> None:
    text = example(name).text
    assert not PAGE_N_OF_M.search(text)
    assert f"| {number} " not in text  # "Riverbend Health  |  CE-801 Escalation of ..."
    assert not any(line.startswith("Riverbend Health |") for line in text.splitlines())
    # "Riverbend Health" is left only where the policy itself says it
    expected = sum(line.count("Riverbend Health") for line in expected_lines(name))
    assert text.count("Riverbend Health") == expected


def test_numbered_section_titles_become_heading_paths(example: Callable[[str], Document]) -> None:
    paths = [s.path for s in sections(example(ML901).text)]
    assert paths[0] == ()  # the policy number line and the note, above "1. Purpose"
    assert paths[1:5] == [("1. Purpose",), ("2. Scope",), ("3. Definitions",), ("4. Reasons for Leave",)]
    assert ("5. Requesting Leave", "5.1 Planned Leave") in paths
    assert ("7. Returning to Practice", "7.4 Focused Review after Return") in paths
    assert paths[-1] == ("12. Revision History",)
    ce_paths = [s.path for s in sections(example(CE801).text)]
    assert ("4. Escalation Levels", "4.3 Level 3: Department Chair and Administrator on Call") in ce_paths
    assert "## 4. Escalation Levels" in example(CE801).text.splitlines()
    assert "### 4.1 Level 1: Responsible Practitioner" in example(CE801).text.splitlines()


def test_drawn_bullets_become_list_items_with_their_wrapped_lines(example: Callable[[str], Document]) -> None:
    lines = example(ML901).text.splitlines()
    start = lines.index("## 3. Definitions")
    items = lines[start + 2 : start + 8]
    assert all(line.startswith("- ") for line in items)
    assert items[0] == (
        "- Leave of absence: an approved period during which a practitioner's medical staff membership continues "
        "but the practitioner may not exercise clinical privileges."
    )
    units = split_units(example(ML901).text)
    assert sum(u.is_list_item for u in units) == sum(line.startswith("- ") for line in expected_lines(ML901))


@pytest.mark.parametrize(("name", "title"), [(CE801, "CE801_TITLE"), (ML901, "ML901_TITLE")])
def test_pdf_title_comes_from_the_metadata_and_is_not_repeated_as_a_heading(
    name: str, title: str, example: Callable[[str], Document]
) -> None:
    doc = example(name)
    assert doc.title == getattr(SOURCE, title)
    assert doc.title not in doc.text
    assert "truncated" not in doc.metadata


def test_chunks_of_a_pdf_carry_section_paths(example: Callable[[str], Document], embedder: Embedder) -> None:
    doc = example(ML901)
    chunks = Chunker(embedder.count_tokens, max_tokens=160, overlap_tokens=32).split(doc)
    body = [c for c in chunks if c.start > doc.text.index("## 1. Purpose")]
    assert body and all(c.section for c in body)
    assert {c.section[0] for c in body} == {
        line[3:] for line in expected_lines(ML901) if line.startswith("## ")
    }
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert not PAGE_N_OF_M.search(chunk.text) and "Riverbend Health  |" not in chunk.text
    leave = next(c for c in chunks if "must reapply for membership" in c.text)
    assert leave.section == ("6. Length of Leave and Effect on Membership",)
    assert leave.context_header.startswith(
        "Medical Staff Leave of Absence and Return to Practice > 6. Length"
    )


# -- the example .docx -----------------------------------------------------------------------------------------


def test_docx_title_is_the_policy_title_not_the_letterhead(example: Callable[[str], Document]) -> None:
    doc = example(OC701)
    assert doc.title == SOURCE.OC701_TITLE == "Physician On-Call Coverage and Compensation"
    assert doc.text.splitlines()[0] == "Riverbend Health"  # the letterhead line is still text
    assert "- Weekend call: $2,400 for the full weekend." in doc.text.splitlines()


def docx_bytes(core_title: str | None, paragraphs: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    if core_title is not None:
        document.core_properties.title = core_title
    for style, text in paragraphs:
        if style.startswith("Heading"):
            document.add_heading(text, level=int(style.split()[1]))
        else:
            document.add_paragraph(text, style=style or None)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_title_from_core_properties_then_first_heading_then_file_name(tmp_path: Path) -> None:
    letterhead = ("", "Riverbend Health")
    body = ("", "Visitors wear an orange badge in the intensive care unit.")
    with_props = docx_bytes("Visitor Badges", [letterhead, ("Heading 1", "Badge Rules"), body])
    assert load_bytes(tmp_path, "a.docx", with_props).title == "Visitor Badges"
    no_props = docx_bytes(None, [letterhead, ("Heading 2", "Badge Rules"), ("Heading 1", "Later"), body])
    assert load_bytes(tmp_path, "b.docx", no_props).title == "Badge Rules"
    placeholder = docx_bytes("Microsoft Word - badges.docx", [letterhead, ("Heading 1", "Badge Rules"), body])
    assert load_bytes(tmp_path, "c.docx", placeholder).title == "Badge Rules"
    no_heading = docx_bytes(None, [letterhead, body])
    assert load_bytes(tmp_path, "visitor-badges.docx", no_heading).title == "Visitor badges"


def test_a_docx_nested_list_keeps_its_nesting(tmp_path: Path) -> None:
    """Items of a second-level list style are indented under the item they follow, so the chunker reads them as
    that item's list (the item ending with ":" is their lead-in)."""
    data = docx_bytes(
        None,
        [
            ("Heading 1", "Case Review"),
            ("List Number", "Cases are referred for review when any of these triggers occurs:"),
            ("List Bullet 2", "unexpected death;"),
            ("List Bullet 2", "a patient complaint."),
            ("List Number", "The Quality Department screens each referral within 7 days."),
        ],
    )
    lines = [line for line in load_bytes(tmp_path, "review.docx", data).text.splitlines() if line.strip()]
    assert lines[-4:] == [
        "- Cases are referred for review when any of these triggers occurs:",
        "   - unexpected death;",
        "   - a patient complaint.",
        "- The Quality Department screens each referral within 7 days.",
    ]


def test_an_html_nested_list_keeps_its_nesting(tmp_path: Path) -> None:
    page = (
        "<html><body><h2>Case review</h2><ol><li>Cases are referred for review when any of these triggers "
        "occurs:<!-- triggers --><ul><li>unexpected death;</li><li>a <b>patient</b> complaint.</li></ul></li>"
        "<li>The Quality Department screens each referral within 7 days.</li></ol></body></html>"
    )
    text = load_bytes(tmp_path, "review.html", page.encode()).text
    assert [line for line in text.splitlines() if line.strip()][-4:] == [
        "- Cases are referred for review when any of these triggers occurs:",
        "   - unexpected death;",
        "   - a patient complaint.",
        "- The Quality Department screens each referral within 7 days.",
    ]


def test_html_title_from_title_tag_then_first_h1(tmp_path: Path) -> None:
    page = "<html><head>{head}</head><body><header><h1>{h1}</h1></header><h2>Hours</h2><p>Open at six.</p></body>"
    titled = page.format(head="<title>Cafe Hours</title>", h1="Riverbend Cafe").encode()
    assert load_bytes(tmp_path, "a.html", titled).title == "Cafe Hours"
    untitled = page.format(head="<title> </title>", h1="Riverbend Cafe").encode()
    doc = load_bytes(tmp_path, "b.html", untitled)
    assert doc.title == "Riverbend Cafe"
    assert "Open at six." in doc.text


# -- PDFs written with fpdf2: reflow rules -----------------------------------------------------------------------


Page = list[tuple[str, str]]


def write_pdf(
    pages: list[Page],
    title: str | None = None,
    header: str | None = "Riverbend Health | VB-100 Visitor Badges",
    footer: str = "Page {n} of {m}",
) -> bytes:
    """A letter-size PDF, one printed line per ``(style, text)``: "title", "h" (bold 14), "p" (11), "bullet"
    (an indented line after a "•"), "bullet2" (one nested a level further in), "more" (a bullet's indented
    continuation) or "gap" (paragraph space)."""
    pdf = FPDF(format="letter", unit="mm")
    pdf.core_fonts_encoding = "windows-1252"  # for "•"
    pdf.set_auto_page_break(False)
    if title is not None:
        pdf.set_title(title)
    for number, lines in enumerate(pages, 1):
        pdf.add_page()
        if header is not None:
            pdf.set_font("helvetica", size=9)
            pdf.set_xy(25, 10)
            pdf.cell(0, 5, header)
        pdf.set_xy(25, 30)
        for style, text in lines:
            if style == "gap":
                pdf.ln(3)
                continue
            font, size, height = {"title": ("B", 17, 9), "h": ("B", 14, 8)}.get(style, ("", 11, 6))
            pdf.set_font("helvetica", font, size)
            pdf.set_x(25)
            if style == "bullet":
                pdf.cell(7, height, "•")
            elif style == "bullet2":  # a bullet of a list nested under the one before
                pdf.set_x(32)
                pdf.cell(7, height, "•")
            elif style == "more":
                pdf.set_x(32)
            pdf.cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
        if footer:
            pdf.set_font("helvetica", size=9)
            pdf.set_xy(25, 265)
            pdf.cell(0, 5, footer.format(n=number, m=len(pages)), align="C")
    return bytes(pdf.output())


BADGES: list[Page] = [
    [
        ("title", "Visitor Badge Policy"),
        ("gap", ""),
        ("h", "1. Purpose"),
        ("p", "Every visitor wears a badge, and the respon-"),
        ("p", "sibility for issuing badges lies with the front desk."),
        ("gap", ""),
        ("p", "Staff arrange a follow-"),
        ("p", "up call with each visitor who loses a badge. The follow-up call is logged."),
        ("gap", ""),
        ("p", "4.2 Level 2 response"),
        ("p", "Badges are returned at the end of each visit, and lost badges are reported to"),
    ],
    [
        ("p", "security within one hour."),
        ("gap", ""),
        ("h", "2. Badge Colours"),
        ("bullet", "Orange badges: intensive care unit visitors who stay"),
        ("more", "overnight with a patient."),
        ("bullet", "Green badges: all other visitors."),
        ("gap", ""),
        ("p", "Badge colours are reviewed every year by the security manager, who is the"),
        ("p", "policy owner."),
    ],
]


def test_written_pdf_is_reflowed_into_headings_paragraphs_and_items(tmp_path: Path) -> None:
    doc = load_bytes(tmp_path, "visitor-badges.pdf", write_pdf(BADGES))
    assert doc.title == "Visitor Badge Policy"  # no metadata title: the large first heading
    assert [line for line in doc.text.splitlines() if line] == [
        "## 1. Purpose",
        "Every visitor wears a badge, and the responsibility for issuing badges lies with the front desk.",
        "Staff arrange a follow-up call with each visitor who loses a badge. The follow-up call is logged.",
        "### 4.2 Level 2 response",
        "Badges are returned at the end of each visit, and lost badges are reported to security within one hour.",
        "## 2. Badge Colours",
        "- Orange badges: intensive care unit visitors who stay overnight with a patient.",
        "- Green badges: all other visitors.",
        "Badge colours are reviewed every year by the security manager, who is the policy owner.",
    ]


#: BADGES and a third page: a paragraph runs over the break between pages 1 and 2
THREE_PAGES: list[Page] = [
    *BADGES,
    [("h", "3. Review"), ("p", "The security manager reviews this policy yearly.")],
]


def test_a_pdf_is_also_read_page_by_page_with_the_joined_text_unchanged(tmp_path: Path) -> None:
    doc = load_bytes(tmp_path, "visitor-badges.pdf", write_pdf(THREE_PAGES))
    # chunked and indexed: the whole text, the sentence over the page break whole
    assert "lost badges are reported to security within one hour." in doc.text
    pages = [[line for line in page.splitlines() if line] for page in doc.pages]
    assert len(pages) == 3
    assert pages[0][0] == "## 1. Purpose" and pages[0][-1] == (
        "Badges are returned at the end of each visit, and lost badges are reported to"
    )
    # page 2 goes on with the rest of that sentence, then its own heading and items
    assert pages[1] == [
        "security within one hour.",
        "## 2. Badge Colours",
        "- Orange badges: intensive care unit visitors who stay overnight with a patient.",
        "- Green badges: all other visitors.",
        "Badge colours are reviewed every year by the security manager, who is the policy owner.",
    ]
    assert pages[2] == ["## 3. Review", "The security manager reviews this policy yearly."]
    every_page = "\n".join(doc.pages)
    assert "Riverbend Health" not in every_page and "Page 2 of 3" not in every_page  # no running lines
    assert "Visitor Badge Policy" not in every_page  # the title is the document's, not a line of page 1
    # a document without pages has none
    assert load_bytes(tmp_path, "note.md", b"# Note\n\nText.\n").pages == ()


def test_the_example_pdfs_read_page_by_page_hold_the_same_paragraphs(
    example: Callable[[str], Document],
) -> None:
    for name in ("ce-801-escalation-of-clinical-concerns.pdf", "ml-901-medical-staff-leave-of-absence.pdf"):
        doc = example(name)
        assert len(doc.pages) >= 4 and all(page.strip() for page in doc.pages), name
        whole = [block for block in doc.text.split("\n\n") if block.strip()]
        paged = " ".join(" ".join(page.split()) for page in doc.pages)
        # every paragraph of the text is on the pages, in order (one over a page break cut in two)
        assert " ".join(" ".join(block.split()) for block in whole) == paged, name


@pytest.mark.parametrize("footer", ["{n}", "- {n} -", "Page {n}"])
def test_bare_page_numbers_are_dropped(tmp_path: Path, footer: str) -> None:
    doc = load_bytes(
        tmp_path, "badges.pdf", write_pdf(BADGES, title="Visitor Badges", header=None, footer=footer)
    )
    assert doc.title == "Visitor Badges"
    assert not re.search(r"^(- )?(Page )?\d+( -)?$", doc.text, re.MULTILINE)
    assert (
        "Badges are returned at the end of each visit, and lost badges are reported to security within one hour."
        in doc.text
    )
    # the printed title differs from the metadata title, so it stays as text
    assert doc.text.splitlines()[0] == "Visitor Badge Policy"


def test_a_hyphen_is_kept_where_the_document_prints_the_word_with_one(tmp_path: Path) -> None:
    pages: list[Page] = [
        [
            ("p", "The on-call physician writes a follow-"),
            ("p", "up note, and the nurse writes a respon-"),
            ("p", "sible handover within one hour of the MS-"),
            ("p", "101 review."),
            ("gap", ""),
            ("p", "Each follow-up note is filed with the fitness-for-"),
            ("p", "duty letter."),
        ]
    ]
    text = load_bytes(tmp_path, "notes.pdf", write_pdf(pages, header=None, footer="")).text
    # "follow-up" is printed whole further down; "responsible" nowhere with a hyphen
    assert "writes a follow-up note, and the nurse writes a responsible handover" in text
    assert "of the MS-101 review." in text  # not a lowercase word after the hyphen
    assert "filed with the fitness-for-duty letter." in text  # a word with hyphens already
    # without "follow-up" printed anywhere, the line-end hyphen reads as a word broken in two (no dictionary)
    alone = load_bytes(tmp_path, "alone.pdf", write_pdf([pages[0][:2]], header=None, footer="")).text
    assert "writes a followup note" in alone


def test_a_pdf_nested_list_keeps_its_nesting(tmp_path: Path) -> None:
    """Bullets printed further right than the ones before them are a list nested under the item they follow."""
    page: Page = [
        ("title", "Case Review Policy"),
        ("gap", ""),
        ("bullet", "Cases are referred for review when any of these triggers occurs:"),
        ("bullet2", "unexpected death;"),
        ("bullet2", "a patient complaint."),
        ("bullet", "The Quality Department screens each referral within 7 days."),
    ]
    text = load_bytes(tmp_path, "review.pdf", write_pdf([page], header=None, footer="")).text
    assert [line for line in text.splitlines() if line.strip()][-4:] == [
        "- Cases are referred for review when any of these triggers occurs:",
        "   - unexpected death;",
        "   - a patient complaint.",
        "- The Quality Department screens each referral within 7 days.",
    ]


def test_two_columns_are_read_one_after_the_other_and_table_rows_stay_rows(tmp_path: Path) -> None:
    left = "The left column starts the article and runs down the page for many lines of justified text. " * 4
    right = "The right column is read only after the whole left column, never line by line beside it. " * 4
    pdf = FPDF(format="letter", unit="mm")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.set_xy(20, 20)
    pdf.cell(0, 8, "A Two Column Article")
    pdf.set_font("helvetica", size=10)
    pdf.set_xy(20, 35)
    pdf.multi_cell(82, 5, left.strip(), align="J")
    pdf.set_xy(112, 35)
    pdf.multi_cell(82, 5, right.strip(), align="J")
    y = 120
    for call, pay in [("Weeknight call", "$600 per night"), ("Weekend call", "$2,400 per weekend")]:
        pdf.set_xy(20, y)
        pdf.cell(60, 6, call)
        pdf.set_xy(110, y)
        pdf.cell(60, 6, pay)
        y += 7
    doc = load_bytes(tmp_path, "article.pdf", bytes(pdf.output()))
    assert doc.title == "A Two Column Article"
    assert [line for line in doc.text.splitlines() if line] == [
        left.strip(),
        right.strip(),
        "Weeknight call $600 per night",
        "Weekend call $2,400 per weekend",
    ]
    # a page that is only a two-column table is not mistaken for two columns of prose
    table = FPDF(format="letter", unit="mm")
    table.add_page()
    table.set_font("helvetica", size=10)
    rows = [(f"Duty period {n}", f"${100 * n} per night") for n in range(1, 13)]
    for n, (call, pay) in enumerate(rows):
        table.set_xy(20, 20 + 7 * n)
        table.cell(60, 6, call)
        table.set_xy(110, 20 + 7 * n)
        table.cell(60, 6, pay)
    text = load_bytes(tmp_path, "table.pdf", bytes(table.output())).text
    assert [line for line in text.splitlines() if line] == [f"{call} {pay}" for call, pay in rows]


def test_dash_bullets_start_items_but_a_dash_inside_a_sentence_does_not(tmp_path: Path) -> None:
    pages: list[Page] = [
        [
            ("p", "The night kit holds:"),
            ("p", "- a stethoscope"),
            ("p", "- a pen light"),
            ("gap", ""),
            ("p", "Night staff carry the kit on every shift, and the charge nurse"),
            ("p", "- not the unit clerk - checks it at the start of the shift."),
        ]
    ]
    text = load_bytes(tmp_path, "kit.pdf", write_pdf(pages, header=None, footer="")).text
    assert [line for line in text.splitlines() if line] == [
        "The night kit holds:",
        "- a stethoscope",
        "- a pen light",
        "Night staff carry the kit on every shift, and the charge nurse - not the unit clerk - checks it at the "
        "start of the shift.",
    ]


def test_text_printed_twice_over_itself_for_fake_bold_is_read_once(tmp_path: Path) -> None:
    pdf = FPDF(format="letter", unit="mm")
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    for shift in (0, 0.1):  # the same heading drawn twice, a tenth of a millimetre apart
        pdf.set_xy(25 + shift, 30)
        pdf.cell(0, 8, "1. Purpose")
    pdf.set_font("helvetica", size=11)
    pdf.set_xy(25, 40)
    pdf.cell(0, 6, "Visitors wear badges at all times.")
    doc = load_bytes(tmp_path, "bold.pdf", bytes(pdf.output()))
    assert doc.text == "## 1. Purpose\n\nVisitors wear badges at all times.\n"


# -- hostile PDFs ------------------------------------------------------------------------------------------------


def test_a_pdf_of_thousands_of_pages_is_read_up_to_the_cap_quickly(tmp_path: Path) -> None:
    pdf = FPDF(format=(80, 40), unit="mm")
    pdf.set_font("helvetica", size=8)
    total = readers.PDF_MAX_PAGES + 1000
    for number in range(1, total + 1):
        pdf.add_page()
        pdf.cell(0, 5, f"Tiny page {number} says hello.")
    data = bytes(pdf.output())
    started = time.monotonic()
    doc = load_bytes(tmp_path, "many.pdf", data)
    elapsed = time.monotonic() - started
    assert f"Tiny page {readers.PDF_MAX_PAGES} says hello." in doc.text
    assert f"Tiny page {readers.PDF_MAX_PAGES + 1} says hello." not in doc.text
    assert doc.metadata["truncated"] == f"only the first {readers.PDF_MAX_PAGES} of {total} pages were read"
    assert elapsed < 20, f"reading {readers.PDF_MAX_PAGES} pages took {elapsed:.1f} s"


def pdf_reason(tmp_path: Path, data: bytes, name: str = "bad.pdf") -> str:
    with pytest.raises(DocumentError) as info:
        load_bytes(tmp_path, name, data)
    return info.value.reason


UNREADABLE = "PDF could not be read"
NO_TEXT = "no text could be extracted"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7\n" + bytes(range(256)) * 40, UNREADABLE),
        (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
            NO_TEXT,
        ),
        ((POLICIES / ML901).read_bytes()[:5000], UNREADABLE),
        ((POLICIES / ML901).read_bytes().replace(b"/Contents", b"/Contents [ 1 0 R ] /Junk"), NO_TEXT),
        (  # a page tree that is its own parent
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
            NO_TEXT,
        ),
        (  # dictionaries nested 50,000 deep
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
            + b"<< /A " * 50000
            + b">> " * 50000
            + b">> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
            UNREADABLE,
        ),
    ],
    ids=["garbage", "no-page-tree", "truncated", "broken-contents", "page-tree-loop", "deep-nesting"],
)
def test_a_malformed_pdf_raises_document_error(tmp_path: Path, data: bytes, reason: str) -> None:
    assert pdf_reason(tmp_path, data).startswith(reason)


def test_any_failure_inside_the_pdf_reader_becomes_a_document_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(page: object, index: int) -> list[object]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(readers, "_page_lines", explode)
    reason = pdf_reason(tmp_path, (POLICIES / CE801).read_bytes())
    assert reason == "PDF could not be read (RecursionError: maximum recursion depth exceeded)"
