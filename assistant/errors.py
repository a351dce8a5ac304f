"""One error hierarchy. Messages say what happened and what to do about it.

Only the edges (CLI, UI) turn these into friendly output; the core raises them and never logs as a side effect.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting has a value the assistant cannot work with."""


class QuestionError(AssistantError):
    """The question cannot be answered as given (for example, it is empty)."""


class IndexMissingError(AssistantError):
    """There is no index to answer from yet."""


class IndexMismatchError(AssistantError):
    """The index was built with settings that differ from the current ones."""


class StoreError(AssistantError):
    """The vector store could not be opened or reached."""


class DocumentError(AssistantError):
    """One document could not be ingested. Carries the path and a reason a user can act on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class BackendError(AssistantError):
    """An answer backend (for example an LLM endpoint) failed."""
