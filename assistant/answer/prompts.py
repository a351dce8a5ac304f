"""Prompts and fixed phrases are data files in ``prompts/``, rendered strictly: a missing value is an error."""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigError


class Prompts:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def template(self, name: str) -> str:
        return _read(self.directory / f"{name}.md")

    def render(self, name: str, **values: Any) -> str:
        """Fill ``{placeholders}`` of ``prompts/<name>.md``; unknown or missing placeholders raise ConfigError."""
        return render(self.template(name), f"{name}.md", **values)

    def phrase(self, key: str, **values: Any) -> str:
        phrases = _phrases(self.directory / "phrases.yaml")
        if key not in phrases:
            raise ConfigError(f"prompts/phrases.yaml has no phrase {key!r}.")
        return render(str(phrases[key]).strip(), f"phrases.yaml:{key}", **values)


def render(template: str, label: str, /, **values: Any) -> str:
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    missing = sorted(fields - set(values))
    extra = sorted(set(values) - fields)
    if missing or extra:
        raise ConfigError(
            f"Prompt {label!r} expects {sorted(fields)}; missing {missing}, unexpected {extra}."
        )
    return template.format(**values)


@lru_cache(maxsize=32)
def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except OSError:
        raise ConfigError(
            f"Prompt file {path} is missing. Set CMO_ASSISTANT_PROMPTS_DIR to the prompts folder."
        ) from None


@lru_cache(maxsize=4)
def _phrases(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(_read(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of phrase names to text.")
    return data
