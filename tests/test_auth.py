"""Sign-in: the users file (hashed passwords, keys, strict reading, atomic writes), the live view of it, the limit
on failed attempts, and the ``cmo-assistant users`` commands."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from app_process import clean_environment
from users_files import TEST_ROUNDS, write_users

from assistant.errors import ConfigError
from assistant.web import accounts
from assistant.web.accounts import UsersFile, read_accounts, split_key
from assistant.web.auth import FailureLimiter, Users, _form_username

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = {
    "ann": {"password": "correct horse battery", "role": "admin"},
    "bo": {"password": "staple-staple", "role": "user"},
}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashes written by these tests use bcrypt's lowest cost (the app's is 12)."""
    monkeypatch.setattr(accounts, "BCRYPT_ROUNDS", TEST_ROUNDS)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write_users(tmp_path / "users.json", ACCOUNTS)


def test_the_file_holds_hashes_and_no_password(path: Path) -> None:
    text = path.read_text("utf-8")
    assert "correct horse" not in text and "staple" not in text
    loaded = read_accounts(path)
    assert {n: a.role for n, a in loaded.items()} == {"ann": "admin", "bo": "user"}
    assert loaded["ann"].password_hash.startswith("$2b$")


def test_check_accepts_only_the_users_own_password(path: Path) -> None:
    users = Users(path)
    assert users.check("ann", "correct horse battery")
    assert not users.check("ann", "staple-staple"), "another user's password"
    assert not users.check("ann", "correct horse battery "), "a password with a trailing space"
    assert not users.check("ann", "")
    assert not users.check("nobody", "staple-staple"), "an unknown user"
    assert not users.check("ann", "x" * 100), "longer than bcrypt reads"
    assert users.is_admin("ann") and not users.is_admin("bo") and not users.is_admin(None)


def test_any_unicode_password(tmp_path: Path) -> None:
    users = Users(write_users(tmp_path / "u.json", {"zoë": {"password": "päss wörd ✓"}}))
    assert users.check("zoë", "päss wörd ✓") and not users.check("zoë", "pass word")


def test_no_users_file_means_no_sign_in() -> None:
    assert Users.load("") is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{\n  "ann": {"password": "hunter2", "role": "admin"}\n}',
            r"'ann' \(line 2\) has a plain-text password.*users migrate",
        ),
        (
            '{\n  "ann": {"password_hash": "x"},\n  "cy": {"password": null}\n}',
            r"'ann' \(line 2\) has no password hash",
        ),
        (
            '{\n  "cy": {"password": null}\n}',
            r"'cy' \(line 2\) has no password \(\"password\": null\).*users add cy",
        ),
        ("{}", "lists no users"),
        ("not json", r"not JSON: .* at line 1"),
        ('["ann"]', "must be a JSON object"),
        ('{"ann": "hunter2"}', r"'ann' \(line 1\) is not an object"),
    ],
    ids=["plain-text", "bad-hash", "null-password", "nobody", "not-json", "a-list", "a-bare-password"],
)
def test_a_wrong_file_is_refused_naming_the_user_and_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "users.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        Users.load(str(path))


def test_role_typos_and_unknown_fields_are_refused(path: Path) -> None:
    entries = json.loads(path.read_text("utf-8"))
    entries["bo"]["role"] = "admn"
    path.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"'bo' \(line \d+\) has the role 'admn'; a role is 'admin' or 'user'"
    ):
        read_accounts(path)
    entries["bo"]["role"] = "user"
    entries["bo"]["rol"] = "admin"
    path.write_text(json.dumps(entries), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'bo' \(line 1\) has an unknown field 'rol'"):
        read_accounts(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Cannot read the users file .*nobody\.json \(FileNotFoundError\)"):
        Users.load(str(tmp_path / "nobody.json"))


def test_migrate_hashes_plain_text_passwords_in_place(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps({"ann": {"password": "old-style", "role": "admin"}, "cy": {"password": None}}), "utf-8"
    )
    done, missing = UsersFile(path).migrate()
    assert (done, missing) == (["ann"], ["cy"])
    assert "old-style" not in path.read_text("utf-8")
    UsersFile(path).add("cy", "a-new-password", None)
    users = Users(path)
    assert users.check("ann", "old-style") and users.is_admin("ann") and users.check("cy", "a-new-password")


def test_a_changed_file_is_read_again(path: Path) -> None:
    users = Users(path)
    assert users.check("bo", "staple-staple")
    UsersFile(path).remove("bo")
    assert not users.check("bo", "staple-staple"), "a removed user still signs in"
    UsersFile(path).add("bo", "a-second-password", "admin")
    assert users.check("bo", "a-second-password") and users.is_admin("bo")
    path.write_text("{broken", encoding="utf-8")
    assert not users.check("ann", "correct horse battery"), "an unreadable file must sign nobody in"
    with pytest.raises(ConfigError, match="not JSON"):
        users.accounts()


def test_writes_replace_the_file_whole_and_private(path: Path) -> None:
    before = path.stat().st_ino
    UsersFile(path).add("cy", "a-third-password", None)
    assert path.stat().st_ino != before, "written in place instead of renamed over"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["users.json"], "a temporary file was left behind"


def test_a_failed_write_leaves_the_file_as_it_was(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = path.read_bytes()

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        UsersFile(path).add("cy", "a-third-password", None)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["users.json"]


def test_api_keys_are_stored_hashed_and_checked_once(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = UsersFile(path).issue_key("bo")
    key_id, secret = split_key(key) or ("", "")
    assert secret and secret not in path.read_text("utf-8") and key_id in path.read_text("utf-8")
    users = Users(path)
    checks: list[str] = []
    real = accounts.verify_secret

    def counting(secret: str, hashed: str) -> bool:
        checks.append(hashed)
        return real(secret, hashed)

    monkeypatch.setattr("assistant.web.auth.verify_secret", counting)
    assert [users.key_owner(key) for _ in range(50)] == ["bo"] * 50
    assert len(checks) == 1, "the key's hash was checked on every request"
    assert users.key_owner(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert users.key_owner("cmo_00000000_" + "x" * 43) is None
    assert users.key_owner("not a key") is None
    UsersFile(path).revoke_key("bo", key_id)
    assert users.key_owner(key) is None, "a revoked key still works"


def test_a_removed_users_key_stops_working(path: Path) -> None:
    key = UsersFile(path).issue_key("bo")
    users = Users(path)
    assert users.key_owner(key) == "bo"
    UsersFile(path).remove("bo")
    assert users.key_owner(key) is None


def test_add_refuses_bad_names_roles_and_overlong_passwords(path: Path) -> None:
    users = UsersFile(path)
    with pytest.raises(ConfigError, match="role must be 'admin' or 'user'"):
        users.add("cy", "a-fine-password", "admn")
    with pytest.raises(ConfigError, match="at most 72 bytes"):
        users.add("cy", "é" * 40, None)
    with pytest.raises(ConfigError, match="user name"):
        users.add(" cy", "a-fine-password", None)
    with pytest.raises(ConfigError, match="no user 'cy'"):
        users.remove("cy")
    assert set(read_accounts(path)) == {"ann", "bo"}, "a refused change changed the file"


def test_the_limiter_blocks_after_five_failures_in_a_minute() -> None:
    now = [1000.0]
    limiter = FailureLimiter(clock=lambda: now[0])
    for _ in range(5):
        assert limiter.retry_after("user:ann", "addr:10.0.0.1") == 0
        limiter.failed("user:ann", "addr:10.0.0.1")
    assert 59 <= limiter.retry_after("user:ann") <= 60
    assert limiter.retry_after("addr:10.0.0.1") > 0, "the address is blocked too"
    assert limiter.retry_after("user:bo", "addr:10.0.0.2") == 0, "others are not"
    now[0] += 61
    assert limiter.retry_after("user:ann", "addr:10.0.0.1") == 0, "blocked for longer than the window"


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = clean_environment()
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_commands_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "users.json")
    added = run_cli(
        "users",
        "--file",
        path,
        "add",
        "ann",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a-good-password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "added ann" in added.stdout
    assert run_cli("users", "--file", path, "add", "bo", "--password-stdin", stdin="short\n").returncode == 2
    issued = run_cli("users", "--file", path, "key", "ann")
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip()
    assert split_key(key) is not None and "shown only now" in issued.stderr
    listed = run_cli("users", "--file", path, "list")
    assert "ann\tadmin" in listed.stdout and (split_key(key) or ("",))[0] in listed.stdout
    assert key not in listed.stdout and key not in Path(path).read_text("utf-8")
    users = Users(Path(path))
    assert users.check("ann", "a-good-password") and users.key_owner(key) == "ann"
    assert run_cli("users", "--file", path, "remove", "ann").returncode == 0
    assert not users.check("ann", "a-good-password") and users.key_owner(key) is None
    missing = run_cli("users", "--file", path, "remove", "ann")
    assert missing.returncode == 1 and "There is no user 'ann'" in missing.stderr
    no_file = run_cli("users", "list")
    assert no_file.returncode == 2 and "CMO_ASSISTANT_USERS_FILE" in no_file.stderr


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"username=+ann+&password=x"),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="username"\r\n\r\n ann \r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nx\r\n--XyZ--\r\n',
        ),
    ],
    ids=["gradio_client", "browser"],
)
def test_the_sign_in_form_is_read_for_its_user_name_as_gradio_reads_it(
    content_type: str, body: bytes
) -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "headers": [(b"content-type", content_type.encode())],
    }
    assert asyncio.run(_form_username(scope, body)) == "ann"


def test_the_app_refuses_to_start_on_an_old_plain_text_users_file(tmp_path: Path) -> None:
    from app_process import app_environment, free_port

    users = tmp_path / "users.json"
    users.write_text('{\n  "ann": {"password": "hunter2-hunter2", "role": "admin"}\n}\n', encoding="utf-8")
    started = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        cwd=PROJECT_ROOT,
        env={**app_environment(tmp_path / "data", free_port(), users), "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 1, started.stderr[-2000:]
    assert "'ann' (line 2) has a plain-text password" in started.stderr
    assert "cmo-assistant users migrate" in started.stderr and "Traceback" not in started.stderr
