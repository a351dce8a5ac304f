"""Acronyms and their spelled-out forms, both directions, with case rules for short acronyms."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.search.glossary import Glossary


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary.load()


def test_acronym_expands_to_its_spelled_out_form(glossary: Glossary) -> None:
    assert glossary.additions("What does an FQHC require?") == ["federally qualified health center"]
    assert glossary.expand("What does an FQHC require?") == (
        "What does an FQHC require? (federally qualified health center)"
    )


def test_spelled_out_form_gets_its_acronym(glossary: Glossary) -> None:
    assert glossary.additions("Federally Qualified Health Centers serve many patients") == ["FQHC"]
    assert glossary.additions("A federal health center") == ["FQHC"]
    assert glossary.additions("the chief\nmedical   officer") == ["CMO"]


def test_several_terms_in_one_text(glossary: Glossary) -> None:
    assert sorted(glossary.additions("Does the CMO of an FQHC report to the CEO?")) == [
        "chief executive officer",
        "chief medical officer",
        "federally qualified health center",
    ]


def test_case_sensitive_acronyms_need_capitals(glossary: Glossary) -> None:
    assert glossary.additions("What do you do all day?") == []
    assert glossary.additions("Is she a DO?") == ["doctor of osteopathic medicine"]
    assert glossary.additions("The ed team and hr staff") == []
    assert glossary.additions("The ED team and HR staff") == ["human resources", "emergency department"]


def test_case_insensitive_acronyms_match_any_case_and_plurals(glossary: Glossary) -> None:
    assert glossary.additions("what do cmos do") == ["chief medical officer"]


def test_acronym_inside_a_longer_word_is_not_matched(glossary: Glossary) -> None:
    assert glossary.additions("The ACMO reads FQHCX data from the DOCTOR") == []


def test_no_additions_when_both_forms_are_present(glossary: Glossary) -> None:
    text = "An FQHC (federally qualified health center) has a CMO, the chief medical officer."
    assert glossary.additions(text) == []
    assert glossary.expand(text) == text


def test_other_meaning_is_detected(glossary: Glossary) -> None:
    assert glossary.other_meaning_in("What does a Chief Marketing Officer earn?") == (
        "CMO",
        "chief marketing officer",
    )
    assert glossary.other_meaning_in("chief\nmarketing   officers and brands") == (
        "CMO",
        "chief marketing officer",
    )
    assert glossary.other_meaning_in("What does a chief medical officer do?") is None
    assert glossary.other_meaning_in("What does a CMO do?") is None
    # The marketing officer is not a chief medical officer, so nothing is added for it.
    assert glossary.additions("What does a chief marketing officer earn?") == []


def test_extra_glossary_file_adds_terms(glossary: Glossary, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("- acronym: PCMH\n  expansions: [patient-centered medical home]\n", encoding="utf-8")
    loaded = Glossary.load(extra)
    assert loaded.additions("Is our clinic a PCMH?") == ["patient-centered medical home"]
    assert loaded.additions("FQHC") == ["federally qualified health center"]


def test_unreadable_extra_glossary_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        Glossary.load(missing)
