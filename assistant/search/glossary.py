"""Domain acronyms <-> spelled-out forms, applied the same way to questions and to passages."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import yaml

from assistant.errors import ConfigError


@dataclass(frozen=True)
class Term:
    acronym: str
    expansions: tuple[str, ...]
    case_sensitive: bool = False
    other_meanings: tuple[str, ...] = ()


class Glossary:
    """Expands text with the other form of every acronym or expansion it contains, and with the other words of
    every synonym group one of whose words it contains."""

    def __init__(self, terms: list[Term], synonyms: list[tuple[str, ...]] | None = None) -> None:
        self.terms = terms
        self.synonyms = synonyms or []

    @classmethod
    def load(cls, extra_file: Path | None = None) -> Glossary:
        """The bundled glossary, plus the entries of ``extra_file`` (same YAML shape) when given."""
        raw = yaml.safe_load(
            resources.files("assistant").joinpath("data", "glossary.yaml").read_text("utf-8")
        )
        if extra_file is not None:
            try:
                raw += yaml.safe_load(extra_file.read_text("utf-8")) or []
            except (OSError, yaml.YAMLError) as exc:
                raise ConfigError(f"Cannot read glossary file {extra_file}: {exc}") from None
        synonyms = [tuple(str(w).lower() for w in item["synonyms"]) for item in raw if "synonyms" in item]
        terms = [
            Term(
                acronym=str(item["acronym"]),
                expansions=tuple(str(e).lower() for e in item.get("expansions", [])),
                case_sensitive=bool(item.get("case_sensitive", False)),
                other_meanings=tuple(str(e).lower() for e in item.get("other_meanings", [])),
            )
            for item in raw
            if "acronym" in item
        ]
        return cls(terms, synonyms)

    @cached_property
    def fingerprint(self) -> str:
        """A hash of every entry: what the glossary adds to passages changes exactly when this does."""
        return hashlib.sha256(repr((self.terms, self.synonyms)).encode("utf-8")).hexdigest()[:16]

    @cached_property
    def _patterns(self) -> list[tuple[Term, re.Pattern[str], re.Pattern[str]]]:
        compiled = []
        for term in self.terms:
            flags = 0 if term.case_sensitive else re.IGNORECASE
            acronym = re.compile(rf"(?<![\w-]){re.escape(term.acronym)}s?(?![\w-])", flags)
            phrase = re.compile(
                r"\b(?:" + "|".join(re.escape(e).replace(r"\ ", r"\s+") for e in term.expansions) + r")s?\b",
                re.IGNORECASE,
            )
            compiled.append((term, acronym, phrase))
        return compiled

    @cached_property
    def _synonym_patterns(self) -> list[tuple[tuple[str, ...], dict[str, re.Pattern[str]]]]:
        return [
            (group, {w: re.compile(rf"\b{re.escape(w)}(?:s|es)?\b", re.IGNORECASE) for w in group})
            for group in self.synonyms
        ]

    def additions(self, text: str) -> list[str]:
        """The forms missing from ``text``: the expansion of each acronym present, the acronym of each expansion."""
        extra: list[str] = []
        # A substring test first (fast) and the regular expression only when it passes: a passage mentions few
        # terms, and indexing 100k passages otherwise runs every pattern on every passage.
        lowered = text.lower()
        for term, acronym, phrase in self._patterns:
            literal = term.acronym if term.case_sensitive else term.acronym.lower()
            has_acronym = literal in (text if term.case_sensitive else lowered) and bool(acronym.search(text))
            has_phrase = any(e.split()[0] in lowered for e in term.expansions) and bool(phrase.search(text))
            if has_acronym and not has_phrase:
                extra.append(term.expansions[0])
            elif has_phrase and not has_acronym:
                extra.append(term.acronym)
        for group, pattern in self._synonym_patterns:
            present = {w for w in group if w in lowered and pattern[w].search(text)}
            if present:
                extra.extend(w for w in group if w not in present)
        return extra

    def expand(self, text: str) -> str:
        """``text`` followed by the missing forms in parentheses, e.g. ``"FQHC CMO (federally ... center; ...)"``."""
        extra = self.additions(text)
        return f"{text} ({'; '.join(extra)})" if extra else text

    def other_meaning_in(self, text: str) -> tuple[str, str] | None:
        """``(acronym, meaning)`` when ``text`` spells out an out-of-scope meaning of a known acronym."""
        lowered = " ".join(text.lower().split())
        for term in self.terms:
            for meaning in term.other_meanings:
                if re.search(rf"\b{re.escape(meaning)}s?\b", lowered):
                    return term.acronym, meaning
        return None
