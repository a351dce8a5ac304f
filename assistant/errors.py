"""One error hierarchy. Messages say what happened and what to do about it.

Three groups, so an edge can react to the kind of trouble without knowing every class:

- :class:`InputError`: what was given cannot be used (a question, a setting, a document). Fix the input.
- :class:`UnavailableError`: a service the assistant needs did not answer (the vector store, an LLM). Try again.
- :class:`IndexStateError`: the index is missing, damaged or built differently. Ingest or rebuild it.

Library errors become these in one place each: :func:`map_exceptions` (as in httpx) translates by exception
type, never by message text, except :func:`disk_trouble`, which has to read SQLite's wording. Only the edges (CLI,
UI) turn errors into friendly output; the core raises them and never logs as a side effect.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


class AssistantError(Exception):
    """Base class for every error the assistant raises on purpose."""


# -- input -----------------------------------------------------------------------------------------------------
class InputError(AssistantError):
    """Something given to the assistant cannot be used as it is."""


class ConfigError(InputError):
    """A setting has a value the assistant cannot work with."""


class QuestionError(InputError):
    """The question cannot be answered as given (for example, it is empty)."""


class DocumentError(InputError):
    """One document could not be ingested. Carries the path and a reason a user can act on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[DocumentError], tuple[str, str]]:
        # raised in the parsing worker process and sent back pickled
        return (self.__class__, (self.path, self.reason))


# -- unavailable -----------------------------------------------------------------------------------------------
class UnavailableError(AssistantError):
    """A service the assistant depends on could not be reached or did not answer in time."""


class StoreError(UnavailableError):
    """The vector store could not be opened, reached or written."""


class BackendError(UnavailableError):
    """An answer backend (for example an LLM endpoint) failed."""


# -- index state -----------------------------------------------------------------------------------------------
class IndexStateError(AssistantError):
    """The index is not in a state to answer from."""


class IndexMissingError(IndexStateError):
    """There is no index to answer from yet (or it is incomplete)."""


class IndexMismatchError(IndexStateError):
    """The index was built with settings that differ from the current ones."""


ErrorFactory = Callable[[Exception], AssistantError]


@contextmanager
def map_exceptions(
    mapping: Mapping[type[Exception] | tuple[type[Exception], ...], ErrorFactory],
) -> Iterator[None]:
    """Translate library exceptions into assistant errors, by type, in the order the mapping lists them.

    ``AssistantError`` passes through untouched; an exception no entry matches is re-raised as it is. The
    library's traceback is dropped (``from None``): the message already says what to do.
    """
    try:
        yield
    except AssistantError:
        raise
    except Exception as exc:
        for types, make in mapping.items():
            if isinstance(exc, types):
                raise make(exc) from None
        raise


def disk_trouble(exc: BaseException) -> bool:
    """Whether an error says the disk is full or cannot be written (the OS's errno, or SQLite's wording, which
    Chroma's embedded database and the manifest pass on as text)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(
        words in text
        for words in (
            "disk is full",
            "disk i/o error",
            "no space left",
            "file too large",
            "quota exceeded",
            "enospc",
            "os error 28",
            "errno 28",
        )
    )


#: Below this many free bytes a disk counts as full: Chroma's embedded database reports a full disk only as a
#: failed write ("Error in compaction: Failed to apply logs to the metadata segment"), with no word about space.
DISK_FULL_BYTES = 16 * 1024 * 1024


def disk_nearly_full(path: Path) -> bool:
    """Whether the disk holding ``path`` (or its nearest existing parent) has almost no free space left."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free < DISK_FULL_BYTES
            except OSError:
                return False
    return False
