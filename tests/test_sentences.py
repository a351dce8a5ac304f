"""Units (sentences and list items) are what citations highlight, so their spans must be exact."""

from __future__ import annotations

import pytest

from assistant.ingest.sentences import sentence_spans, split_units


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def units(text: str) -> list[tuple[str, bool]]:
    return [(text[u.start : u.end], u.is_list_item) for u in split_units(text)]


def test_paragraph_is_split_into_sentences_at_exact_characters() -> None:
    text = "The CMO leads the medical staff. Does the CMO report to the CEO? Yes! It varies."
    assert sentences(text) == [
        "The CMO leads the medical staff.",
        "Does the CMO report to the CEO?",
        "Yes!",
        "It varies.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Leaders, e.g. The CMO, meet weekly. The board agrees.",
            ["Leaders, e.g. The CMO, meet weekly.", "The board agrees."],
        ),
        (
            "Most U.S. Hospitals have a CMO. Some do not.",
            ["Most U.S. Hospitals have a CMO.", "Some do not."],
        ),
        (
            "Dr. Smith chairs the committee. Mrs. Jones takes notes.",
            ["Dr. Smith chairs the committee.", "Mrs. Jones takes notes."],
        ),
        (
            "Each unit, i.e. Every ward, reports. See Fig. 2 for details.",
            ["Each unit, i.e. Every ward, reports.", "See Fig. 2 for details."],
        ),
        (
            "Quality rose 3.5 percent in 2024. Costs fell.",
            ["Quality rose 3.5 percent in 2024.", "Costs fell."],
        ),
    ],
)
def test_abbreviations_and_decimals_do_not_end_a_sentence(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_abbreviation_after_an_opening_bracket_does_not_end_a_sentence() -> None:
    text = 'Committees (e.g. Peer review) meet monthly. Minutes are kept. Ask "Dr. Lee" first.'
    assert sentences(text) == [
        "Committees (e.g. Peer review) meet monthly.",
        "Minutes are kept.",
        'Ask "Dr. Lee" first.',
    ]


def test_list_items_are_whole_units_whatever_the_marker() -> None:
    text = (
        "- Verify the license. Check it yearly.\n* Star item\n+ Plus item\n• Bullet item\n"
        "  - Nested item. Two sentences.\n1. First step.\n12) Twelfth step.\n"
    )
    assert units(text) == [
        ("Verify the license. Check it yearly.", True),
        ("Star item", True),
        ("Plus item", True),
        ("Bullet item", True),
        ("Nested item. Two sentences.", True),
        ("First step.", True),
        ("Twelfth step.", True),
    ]


def test_headings_blockquotes_and_blank_lines_give_no_unit() -> None:
    text = (
        "# Title\n"
        "\n"
        "## Purpose. Of it.\n"
        "> Illustrative example. Replace it.\n"
        ">Another quote.\n"
        "\n"
        "Real sentence one. Real sentence two.\n"
    )
    assert units(text) == [("Real sentence one.", False), ("Real sentence two.", False)]


def test_spans_point_at_exact_characters_with_offset_and_crlf() -> None:
    body = "Intro text here. More text.\r\n\r\n- An item\r\nLast line.\r\n"
    prefix = "## Heading\r\n"
    document = prefix + body
    found = split_units(body, offset=len(prefix))
    assert [(document[u.start : u.end], u.is_list_item) for u in found] == [
        ("Intro text here.", False),
        ("More text.", False),
        ("An item", True),
        ("Last line.", False),
    ]


def test_each_paragraph_line_is_split_separately() -> None:
    text = "Line one has no period\nLine two. Line three"
    assert units(text) == [
        ("Line one has no period", False),
        ("Line two.", False),
        ("Line three", False),
    ]


def test_empty_or_marker_only_text_gives_no_unit() -> None:
    assert split_units("") == []
    assert split_units("-   \n\n   \n") == []
    assert sentence_spans("   ") == []
