"""The error hierarchy's groups, map_exceptions (translation by type) and disk_trouble."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from assistant.errors import (
    AssistantError,
    BackendError,
    ConfigError,
    DocumentError,
    IndexMismatchError,
    IndexMissingError,
    IndexStateError,
    InputError,
    QuestionError,
    StoreError,
    UnavailableError,
    disk_trouble,
    map_exceptions,
)


# -- groups ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "group"),
    [
        (StoreError, UnavailableError),
        (BackendError, UnavailableError),
        (IndexMissingError, IndexStateError),
        (IndexMismatchError, IndexStateError),
        (QuestionError, InputError),
        (ConfigError, InputError),
        (DocumentError, InputError),
    ],
)
def test_each_error_is_in_its_group(error: type[AssistantError], group: type[AssistantError]) -> None:
    assert issubclass(error, group)
    assert issubclass(group, AssistantError)


def test_the_groups_do_not_overlap() -> None:
    groups = (InputError, UnavailableError, IndexStateError)
    for error in (
        StoreError,
        IndexMissingError,
        QuestionError,
        BackendError,
        IndexMismatchError,
        ConfigError,
    ):
        assert sum(issubclass(error, group) for group in groups) == 1


def test_a_document_error_carries_path_and_reason() -> None:
    exc = DocumentError("/corpus/a.pdf", "PDF is encrypted")
    assert exc.path == "/corpus/a.pdf"
    assert exc.reason == "PDF is encrypted"
    assert str(exc) == "/corpus/a.pdf: PDF is encrypted"


# -- map_exceptions ----------------------------------------------------------------------------------------------
def test_a_library_error_is_translated_by_type() -> None:
    with (
        pytest.raises(StoreError, match="cannot open: boom") as raised,
        map_exceptions({OSError: lambda exc: StoreError(f"cannot open: {exc}")}),
    ):
        raise FileNotFoundError("boom")
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_the_first_matching_entry_wins() -> None:
    mapping = {
        ConnectionError: lambda exc: BackendError("connection"),
        OSError: lambda exc: StoreError("os"),
    }
    with pytest.raises(BackendError), map_exceptions(mapping):
        raise ConnectionRefusedError()
    with pytest.raises(StoreError), map_exceptions(mapping):
        raise PermissionError()


def test_a_tuple_of_types_is_one_entry() -> None:
    with pytest.raises(StoreError), map_exceptions({(KeyError, ValueError): lambda exc: StoreError("bad")}):
        raise ValueError("x")


def test_assistant_errors_pass_through_untouched() -> None:
    original = QuestionError("empty question")
    with (
        pytest.raises(QuestionError) as raised,
        map_exceptions({Exception: lambda exc: StoreError("wrapped")}),
    ):
        raise original
    assert raised.value is original


def test_an_unmatched_error_is_reraised_as_it_is() -> None:
    original = KeyError("k")
    with pytest.raises(KeyError) as raised, map_exceptions({OSError: lambda exc: StoreError("os")}):
        raise original
    assert raised.value is original


def test_nothing_raised_means_nothing_translated() -> None:
    with map_exceptions({Exception: lambda exc: StoreError("never")}):
        value = 1 + 1
    assert value == 2


# -- disk_trouble ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EDQUOT])
def test_disk_full_errnos_are_disk_trouble(code: int) -> None:
    assert disk_trouble(OSError(code, "whatever the OS says"))


@pytest.mark.parametrize(
    "message",
    [
        "database or disk is full",
        "disk I/O error",
        "[Errno 28] No space left on device",
        "File too large",
        "Disk quota exceeded",
    ],
)
def test_sqlite_and_os_wording_is_disk_trouble(message: str) -> None:
    assert disk_trouble(sqlite3.OperationalError(message))
    assert disk_trouble(RuntimeError(f"Error executing plan: {message}"))  # as Chroma passes it on


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOENT, "No such file or directory"),
        PermissionError(errno.EACCES, "Permission denied"),
        sqlite3.DatabaseError("file is not a database"),
        ValueError("disk"),
    ],
)
def test_other_errors_are_not_disk_trouble(exc: Exception) -> None:
    assert not disk_trouble(exc)
