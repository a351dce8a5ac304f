"""Sign-in for the web app: the accounts of a users file, a password check and who is an administrator.

The users file is JSON: ``{"name": {"password": "...", "role": "admin" | "user"}}`` (the role defaults to
``user``). It is named by the ``users_file`` setting; without one the app is open to anyone who reaches it.
Only administrators may add or remove documents.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError

__all__ = ["Users"]


@dataclass(frozen=True)
class Users:
    """Sign-in for the app, read from a JSON file: {"name": {"password": "...", "role": "admin" | "user"}}."""

    #: ``{name: (password, role)}``
    accounts: dict[str, tuple[str, str]]

    @classmethod
    def load(cls, path: str) -> Users | None:
        """The accounts of the users file at ``path``; None when no file is set (``path`` empty).

        Raises ConfigError when the file cannot be read, is not of the documented shape, or lists nobody.
        """
        if not path:
            return None
        try:
            raw = json.loads(Path(path).read_text("utf-8"))
            accounts = {str(n): (str(v["password"]), str(v.get("role", "user"))) for n, v in raw.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"Cannot read the users file {path} ({exc.__class__.__name__}). It must be JSON like "
                '{"name": {"password": "...", "role": "admin"}}.'
            ) from None
        if not accounts:
            raise ConfigError(f"The users file {path} lists no users.")
        return cls(accounts)

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (compared in constant time); False for an unknown name."""
        expected = self.accounts.get(name)
        return expected is not None and hmac.compare_digest(expected[0].encode(), password.encode())

    def is_admin(self, name: str | None) -> bool:
        """Whether ``name`` is an administrator; False for an unknown name or nobody signed in (None)."""
        return name is not None and self.accounts.get(name, ("", ""))[1] == "admin"
