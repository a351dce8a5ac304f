"""Eval cases: load and validate ``evals/golden.jsonl``, ``users.jsonl``, ``paraphrase.jsonl`` (or any files of
the same shape), one file or several together."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError

DEFAULT_DATASET = PROJECT_ROOT / "evals" / "golden.jsonl"
#: what `cmo-assistant eval` runs by default: the golden set, users' questions, and the golden set reworded
DEFAULT_DATASETS = (
    DEFAULT_DATASET,
    PROJECT_ROOT / "evals" / "users.jsonl",
    PROJECT_ROOT / "evals" / "more_users.jsonl",
    PROJECT_ROOT / "evals" / "dev_cases.jsonl",
    PROJECT_ROOT / "evals" / "asked_cases.jsonl",
    PROJECT_ROOT / "evals" / "blind_cases.jsonl",
    PROJECT_ROOT / "evals" / "paraphrase.jsonl",
)
_REQUIRED = ("id", "category", "question", "answerable")


@dataclass(frozen=True)
class EvalCase:
    id: str
    category: str
    question: str
    answerable: bool
    split: str = "all"
    history: list[dict[str, str]] = field(default_factory=list)
    expected_docs: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    #: each fact may list alternatives separated by "|"
    key_facts: list[str] = field(default_factory=list)
    #: the file the case came from, by stem ("golden", "users", ...); set by the loader, not read from the file
    dataset: str = ""


def load_cases(path: Path | None = None) -> list[EvalCase]:
    """Read one JSONL file of cases; a malformed line raises ConfigError naming the file and line.

    Each case's ``dataset`` is the file's stem.
    """
    path = path or DEFAULT_DATASET
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"Cannot read the eval dataset {path}: {exc.strerror or exc}.") from None
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number} is not valid JSON ({exc.msg}).") from None
        missing = [key for key in _REQUIRED if key not in raw]
        if missing:
            raise ConfigError(f"{path}:{number} lacks {', '.join(missing)}.")
        if raw["answerable"] and not raw.get("quotes"):
            raise ConfigError(f"{path}:{number}: an answerable case needs at least one expected quote.")
        if raw["id"] in seen:
            raise ConfigError(f"{path}:{number}: the id {raw['id']!r} is used twice.")
        seen.add(raw["id"])
        known = {f for f in EvalCase.__dataclass_fields__} - {"dataset"}
        cases.append(EvalCase(**{k: v for k, v in raw.items() if k in known}, dataset=path.stem))
    if not cases:
        raise ConfigError(f"The eval dataset {path} has no cases.")
    return cases


def load_datasets(paths: Sequence[Path] | None = None) -> list[EvalCase]:
    """The cases of several files, in order (default DEFAULT_DATASETS); each keeps its split.

    :raises ConfigError: for a file load_cases refuses, for a file given twice or two files with the same stem
        (a case's ``dataset`` is the stem), and for an id used in two files (naming both).
    """
    paths = list(DEFAULT_DATASETS if paths is None else paths)
    if not paths:
        raise ConfigError("No eval dataset given.")
    cases: list[EvalCase] = []
    origin: dict[str, Path] = {}
    stems: dict[str, Path] = {}
    for path in paths:
        if path.stem in stems:
            raise ConfigError(
                f"Two eval datasets are named {path.stem!r} ({stems[path.stem]} and {path}); "
                "a case's dataset is its file's name, so give each file another name."
            )
        stems[path.stem] = path
        for case in load_cases(path):
            if case.id in origin:
                raise ConfigError(f"The case id {case.id!r} is used in both {origin[case.id]} and {path}.")
            origin[case.id] = path
            cases.append(case)
    return cases
