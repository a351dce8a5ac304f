"""Users files for tests: accounts written as ``cmo-assistant users add`` writes them (bcrypt hashes), with a low
bcrypt cost so that signing in takes milliseconds (the cost is part of each hash; the app's own is 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.web.accounts import hash_secret

#: bcrypt's lowest cost: fast sign-ins in tests.
TEST_ROUNDS = 4


def write_users(path: Path, accounts: dict[str, dict[str, str]]) -> Path:
    """Write ``{"name": {"password": "...", "role": "admin" | "user"}}`` as a users file with hashed passwords."""
    entries = {
        name: {"password_hash": hash_secret(a["password"], rounds=TEST_ROUNDS), "role": a.get("role", "user")}
        for name, a in accounts.items()
    }
    path.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    return path


def accounts_file(
    tmp_path_factory: pytest.TempPathFactory, name: str, accounts: dict[str, dict[str, str]]
) -> Path:
    """A users file of ``accounts`` in a fresh temporary folder named after ``name`` (for a module's app)."""
    return write_users(tmp_path_factory.mktemp(f"{name}-users") / "users.json", accounts)
