"""The users file: accounts with hashed passwords and API keys, read strictly and written atomically.

The file is JSON, one entry per user::

    {"ann": {"password_hash": "$2b$12$...", "role": "admin",
             "keys": {"3f9a1c2b": {"hash": "$2b$12$...", "created": "2026-12-02T10:00:00Z"}}}}

Passwords and API keys are stored only as bcrypt hashes (the only bcrypt import). An API key reads
``cmo_<key id>_<secret>``: the id finds the stored hash without trying each one. Files from before hashing
(``"password": "plain text"``) are refused with the command that converts them (``cmo-assistant users
migrate``). Every write goes to a temporary file in the same folder, then replaces the file in one rename, so a
reader sees the old file or the new one, never half of one.

:func:`read_accounts` is strict (the server signs in from it); :class:`UsersFile` edits the raw entries, so an
operator can repair one entry of a file whose other entries are still wrong.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bcrypt

from assistant.errors import ConfigError

__all__ = [
    "KEY_PREFIX",
    "MAX_PASSWORD_BYTES",
    "ROLES",
    "Account",
    "UsersFile",
    "hash_secret",
    "read_accounts",
    "split_key",
    "verify_secret",
]

ROLES = ("admin", "user")
#: bcrypt reads at most 72 bytes; a longer password is refused rather than silently cut.
MAX_PASSWORD_BYTES = 72
KEY_PREFIX = "cmo_"
BCRYPT_ROUNDS = 12
_FIELDS = ("password_hash", "role", "keys")
_BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
_SHAPE = '{"name": {"password_hash": "<bcrypt hash>", "role": "admin" | "user"}}'


@dataclass(frozen=True)
class Account:
    """One user of the users file: the password's hash, the role, the API keys' hashes by key id."""

    name: str
    password_hash: str = field(repr=False)
    role: str = "user"
    #: ``{key id: bcrypt hash of the key's secret}``
    keys: dict[str, str] = field(default_factory=dict, repr=False)


def hash_secret(secret: str, rounds: int | None = None) -> str:
    """A bcrypt hash of ``secret`` (a password or an API key's secret); ``rounds`` is bcrypt's cost (2^rounds
    steps; default :data:`BCRYPT_ROUNDS`).

    :raises ConfigError: the secret is longer than bcrypt reads (72 bytes in UTF-8).
    """
    data = secret.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        raise ConfigError(
            f"A password may be at most {MAX_PASSWORD_BYTES} bytes (this one is {len(data)}). Choose a shorter one."
        )
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds or BCRYPT_ROUNDS)).decode("ascii")


def verify_secret(secret: str, hashed: str) -> bool:
    """Whether ``secret`` is the one ``hashed`` was made from (False for an overlong secret or a bad hash)."""
    data = secret.encode("utf-8", "surrogatepass")
    if len(data) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, hashed.encode("ascii"))
    except ValueError:
        return False


def new_key() -> tuple[str, str, str]:
    """A fresh API key: (key id, its secret, the whole key to hand out)."""
    key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    return key_id, secret, f"{KEY_PREFIX}{key_id}_{secret}"


def split_key(key: str) -> tuple[str, str] | None:
    """``cmo_<id>_<secret>`` -> (id, secret); None when ``key`` is not of that form."""
    match = re.fullmatch(rf"{KEY_PREFIX}([0-9a-f]{{8}})_([A-Za-z0-9_-]{{20,64}})", key)
    return (match.group(1), match.group(2)) if match else None


def read_accounts(path: Path) -> dict[str, Account]:
    """The accounts of the users file at ``path``, every entry checked.

    :raises ConfigError: the file cannot be read, is not of the documented shape, lists nobody, or an entry is
        wrong (a plain-text or missing password, an unknown role or field); the message names the user and line.
    """
    text, raw = _read_json(path)
    if not raw:
        raise ConfigError(
            f"The users file {path} lists no users. Add one with `cmo-assistant users add NAME`."
        )
    return {name: _account(path, text, name, entry) for name, entry in raw.items()}


def _read_json(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its top-level object."""
    try:
        text = path.read_text("utf-8")
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"Cannot read the users file {path} (not JSON: {exc.msg} at line {exc.lineno}). It must be JSON like "
            f"{_SHAPE}; create it with `cmo-assistant users add NAME`."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Cannot read the users file {path} ({exc.__class__.__name__}). Check the path and its permissions, "
            "or create it with `cmo-assistant users add NAME`."
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Cannot read the users file {path}: it must be a JSON object like {_SHAPE}.")
    return text, raw


def _account(path: Path, text: str, name: str, entry: Any) -> Account:
    """One entry checked; the errors name the user and the line of the file the entry starts on."""
    where = f"The users file {path}: user {name!r} (line {_line_of(text, name)})"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} is not an object like {_SHAPE}.")
    if "password" in entry:
        if entry["password"] is None:
            raise ConfigError(
                f'{where} has no password ("password": null). Set one with `cmo-assistant users add {name}`.'
            )
        raise ConfigError(
            f"{where} has a plain-text password; passwords are kept hashed. Run `cmo-assistant users migrate` "
            f"to hash every plain-text password in the file, or `cmo-assistant users add {name}` to set a new one."
        )
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where} has an unknown field {unknown[0]!r}; the fields are {', '.join(_FIELDS)}."
        )
    hashed = entry.get("password_hash")
    if not isinstance(hashed, str) or not _BCRYPT.match(hashed):
        raise ConfigError(
            f"{where} has no password hash (password_hash is {hashed!r}). Set a password with "
            f"`cmo-assistant users add {name}`."
        )
    role = entry.get("role", "user")
    if role not in ROLES:
        raise ConfigError(
            f"{where} has the role {role!r}; a role is 'admin' or 'user'. Correct it, or run "
            f"`cmo-assistant users add {name} --role user`."
        )
    keys = entry.get("keys", {})
    if not isinstance(keys, dict) or not all(
        isinstance(k, dict) and isinstance(k.get("hash"), str) for k in keys.values()
    ):
        raise ConfigError(
            f"{where} has malformed API keys. Remove them and issue new ones: `cmo-assistant users key {name}`."
        )
    return Account(name, hashed, role, {str(key_id): k["hash"] for key_id, k in keys.items()})


def _line_of(text: str, name: str) -> int:
    """The line of ``text`` where the entry ``name`` starts (1 when it cannot be found)."""
    match = re.search(re.escape(json.dumps(name)) + r"\s*:", text)
    if match is None:
        match = re.search(re.escape(json.dumps(name, ensure_ascii=False)) + r"\s*:", text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


class UsersFile:
    """Changes to the users file, each written atomically: add (or reset) a user, remove one, issue or revoke
    an API key, hash plain-text passwords. Reads the raw entries, so one entry can be repaired while others are
    still wrong."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> dict[str, Any]:
        """The raw entries; {} when the file does not exist yet."""
        if not self.path.exists():
            return {}
        return _read_json(self.path)[1]

    def add(self, name: str, password: str, role: str | None) -> bool:
        """Set ``name``'s password (and role: given, else kept, else "user"); keeps their API keys. Returns
        whether the user is new."""
        _check_name(name)
        if role is not None and role not in ROLES:
            raise ConfigError(f"The role must be 'admin' or 'user'. Currently, it is {role!r}.")
        if not password:
            raise ConfigError("The password is empty. Give a password of at least 8 characters.")
        entries = self.entries()
        old = entries.get(name)
        old = old if isinstance(old, dict) else {}
        entry: dict[str, Any] = {
            "password_hash": hash_secret(password),
            "role": role or old.get("role", "user"),
        }
        if isinstance(old.get("keys"), dict) and old["keys"]:
            entry["keys"] = old["keys"]
        entries[name] = entry
        self._write(entries)
        return not old

    def remove(self, name: str) -> None:
        """Remove ``name`` and their API keys. :raises ConfigError: there is no such user."""
        entries = self.entries()
        if name not in entries:
            raise ConfigError(
                f"There is no user {name!r} in {self.path}. `cmo-assistant users list` lists them."
            )
        del entries[name]
        self._write(entries)

    def issue_key(self, name: str) -> str:
        """A new API key for ``name``; only its hash is stored, so the key returned is shown once."""
        entries = self.entries()
        entry = entries.get(name)
        if not isinstance(entry, dict):
            raise ConfigError(
                f"There is no user {name!r} in {self.path}. Add them with `cmo-assistant users add {name}`."
            )
        key_id, secret, key = new_key()
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        keys = entry["keys"] if isinstance(entry.get("keys"), dict) else {}
        entry["keys"] = {**keys, key_id: {"hash": hash_secret(secret), "created": created}}
        self._write(entries)
        return key

    def revoke_key(self, name: str, key_id: str) -> None:
        """Revoke ``name``'s key ``key_id`` (the part after ``cmo_``). :raises ConfigError: no such key."""
        entry = self.entries().get(name)
        keys = entry.get("keys") if isinstance(entry, dict) else None
        if not isinstance(keys, dict) or key_id not in keys:
            raise ConfigError(
                f"{name!r} has no API key {key_id!r}. `cmo-assistant users list` shows the key ids."
            )
        entries = self.entries()
        del entries[name]["keys"][key_id]
        self._write(entries)

    def migrate(self) -> tuple[list[str], list[str]]:
        """Hash every plain-text ``"password"`` in place. Returns (users migrated, users left without one)."""
        entries = self.entries()
        done, missing = [], []
        for name, entry in entries.items():
            if not isinstance(entry, dict) or "password" not in entry:
                continue
            password = entry.pop("password")
            if isinstance(password, str) and password:
                entry["password_hash"] = hash_secret(password)
                done.append(name)
            else:
                missing.append(name)
        if done:
            self._write(entries)
        return done, missing

    def _write(self, entries: dict[str, Any]) -> None:
        """Replace the file in one rename (readable by its owner only)."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(entries, out, indent=2, ensure_ascii=False)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _check_name(name: str) -> None:
    if not name or name != name.strip() or len(name) > 64 or any(ch.isspace() and ch != " " for ch in name):
        raise ConfigError(
            f"A user name must be 1 to 64 characters without leading or trailing spaces. Currently, it is {name!r}."
        )
    if any(ord(ch) < 32 for ch in name):
        raise ConfigError(f"A user name cannot hold control characters. Currently, it is {name!r}.")
