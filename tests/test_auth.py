"""Sign-in for the web app (assistant.web.auth.Users): the users file, the password check, who is an admin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.web.auth import Users

ACCOUNTS = {
    "ann": {"password": "correct horse battery", "role": "admin"},
    "bo": {"password": "staple", "role": "user"},
    "cy": {"password": "no role given"},
}


def users_file(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "users.json"
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def users(tmp_path: Path) -> Users:
    loaded = Users.load(str(users_file(tmp_path, json.dumps(ACCOUNTS))))
    assert loaded is not None
    return loaded


def test_a_valid_file_lists_every_account_with_its_role(users: Users) -> None:
    assert users.accounts == {
        "ann": ("correct horse battery", "admin"),
        "bo": ("staple", "user"),
        "cy": ("no role given", "user"),
    }


def test_no_users_file_means_no_sign_in() -> None:
    assert Users.load("") is None


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '["ann", "bo"]',
        '{"ann": "a password without its object"}',
        '{"ann": {"role": "admin"}}',
        "null",
    ],
    ids=["not-json", "a-list", "a-bare-password", "no-password", "null"],
)
def test_a_malformed_file_is_a_config_error_that_shows_the_expected_shape(
    tmp_path: Path, content: str
) -> None:
    path = users_file(tmp_path, content)
    with pytest.raises(ConfigError) as raised:
        Users.load(str(path))
    message = str(raised.value)
    assert f"Cannot read the users file {path}" in message
    assert '{"name": {"password": "...", "role": "admin"}}' in message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nobody.json"
    with pytest.raises(ConfigError, match=r"Cannot read the users file .*nobody\.json \(FileNotFoundError\)"):
        Users.load(str(missing))


def test_a_file_that_lists_nobody_is_a_config_error(tmp_path: Path) -> None:
    path = users_file(tmp_path, "{}")
    with pytest.raises(ConfigError, match="lists no users"):
        Users.load(str(path))


def test_an_empty_file_is_a_config_error(tmp_path: Path) -> None:
    path = users_file(tmp_path, "")
    with pytest.raises(ConfigError, match=r"Cannot read the users file .* It must be JSON like"):
        Users.load(str(path))


def test_check_accepts_only_the_users_own_password(users: Users) -> None:
    assert users.check("ann", "correct horse battery")
    assert users.check("cy", "no role given")
    assert not users.check("ann", "staple"), "another user's password"
    assert not users.check("ann", "correct horse battery "), "a password with a trailing space"
    assert not users.check("ann", "")
    assert not users.check("nobody", "staple"), "an unknown user"
    assert not users.check("", "")


def test_check_takes_any_unicode_password(tmp_path: Path) -> None:
    loaded = Users.load(str(users_file(tmp_path, json.dumps({"zoë": {"password": "päss wörd ✓"}}))))
    assert loaded is not None
    assert loaded.check("zoë", "päss wörd ✓") and not loaded.check("zoë", "pass word")


@pytest.mark.parametrize(
    ("name", "admin"),
    [("ann", True), ("bo", False), ("cy", False), ("nobody", False), (None, False)],
    ids=["admin", "user", "role-not-given", "unknown", "not-signed-in"],
)
def test_is_admin(users: Users, name: str | None, admin: bool) -> None:
    assert users.is_admin(name) is admin
