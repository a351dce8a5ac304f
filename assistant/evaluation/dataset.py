"""Golden cases: load and validate ``evals/golden.jsonl`` (or any file of the same shape)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError

DEFAULT_DATASET = PROJECT_ROOT / "evals" / "golden.jsonl"
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


def load_cases(path: Path | None = None) -> list[EvalCase]:
    """Read a JSONL file of cases; a malformed line raises ConfigError naming the file and line."""
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
        known = {f for f in EvalCase.__dataclass_fields__}
        cases.append(EvalCase(**{k: v for k, v in raw.items() if k in known}))
    if not cases:
        raise ConfigError(f"The eval dataset {path} has no cases.")
    return cases
