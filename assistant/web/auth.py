"""Sign-in for the web app and its API: the users file kept current, failed attempts limited, sessions expired.

- :class:`Users` reads the users file (:mod:`assistant.web.accounts`) and reads it again whenever it changes
  (its modification time, size or inode), so a user removed with ``cmo-assistant users remove`` cannot sign in or
  use an API key any more, without a restart. A file that becomes unreadable signs nobody in until it is fixed.
- :class:`FailureLimiter` counts failed sign-ins (and wrong API keys) per user and per client address: after
  :data:`MAX_FAILURES` in :data:`FAILURE_WINDOW_S` seconds, further attempts get HTTP 429 until the window passes.
- :class:`SignInGuard` is ASGI middleware around Gradio's ``POST /login``: it answers 429 before the password is
  checked, records failures, remembers which session token belongs to whom, and from then on removes the session
  cookie from requests whose session expired (the ``session_hours`` setting), whose user was removed or whose
  password was changed, so Gradio sees them as not signed in.

Without a users file the app is open to anyone who reaches it (it then listens on loopback only).
Only administrators may add or remove documents.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio

from assistant.errors import ConfigError
from assistant.web.accounts import Account, hash_secret, read_accounts, split_key, verify_secret

__all__ = ["FAILURE_WINDOW_S", "MAX_FAILURES", "FailureLimiter", "SignInGuard", "Users", "is_loopback"]

#: Failed sign-ins (or wrong API keys) allowed per user and per client address in FAILURE_WINDOW_S seconds.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 60.0
#: API keys whose check was done, remembered (as a SHA-256 of the key) until the users file changes.
KEY_CACHE_SIZE = 4096
#: The largest sign-in form read (a user name and a password).
MAX_LOGIN_BYTES = 16_384
_SESSION_COOKIE = b"access-token-"  # Gradio's session cookies: access-token-<id>, access-token-unsecure-<id>


class Users:
    """The accounts of a users file, kept current: every question asked of it first checks whether the file
    changed, and reads it again when it did."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._accounts: dict[str, Account] = {}
        self._error = ""
        self._keys: OrderedDict[bytes, str] = OrderedDict()
        self._decoy = (
            ""  # a hash checked for unknown names, so a wrong name costs as long as a wrong password
        )
        self.accounts()  # a file that cannot be read stops the start-up with its reason

    @classmethod
    def load(cls, path: str) -> Users | None:
        """The users of the file at ``path``; None when no file is set (``path`` empty).

        :raises ConfigError: the file cannot be read or an entry is wrong (the message names it).
        """
        return cls(Path(path)) if path else None

    def accounts(self) -> dict[str, Account]:
        """The accounts as the file holds them now.

        :raises ConfigError: the file became unreadable or wrong (nobody signs in until it is fixed).
        """
        try:
            st = os.stat(self.path)
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        with self._lock:
            if stamp is None or stamp != self._stamp:
                self._reload(stamp)
            if self._error:
                raise ConfigError(self._error)
            return self._accounts

    def _reload(self, stamp: tuple[int, int, int] | None) -> None:
        self._stamp, self._keys = stamp, OrderedDict()
        try:
            self._accounts, self._error = read_accounts(self.path), ""
        except ConfigError as exc:
            self._accounts, self._error = {}, str(exc)

    def _current(self) -> dict[str, Account]:
        try:
            return self.accounts()
        except ConfigError:
            return {}

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s; False for an unknown name (after as long a check)."""
        account = self._current().get(name)
        if account is None:
            if not self._decoy:
                self._decoy = hash_secret("no such user")
            verify_secret(password, self._decoy)
            return False
        return verify_secret(password, account.password_hash)

    async def sign_in(self, name: str, password: str) -> bool:
        """:meth:`check` in a worker thread (bcrypt takes a quarter of a second): Gradio's login calls it."""
        return await anyio.to_thread.run_sync(self.check, name, password)

    def password_hash(self, name: str) -> str:
        """``name``'s password hash as the file holds it now ("" for nobody): a session ends when it changes."""
        account = self._current().get(name)
        return account.password_hash if account else ""

    def is_admin(self, name: str | None) -> bool:
        """Whether ``name`` is an administrator; False for an unknown name or nobody signed in (None)."""
        account = self._current().get(name or "")
        return account is not None and account.role == "admin"

    def key_owner(self, key: str) -> str | None:
        """The user an API key belongs to; None for a key that is malformed, revoked or of a removed user.

        A key found good is remembered until the file changes, so the bcrypt check runs once per key, not once
        per request.
        """
        accounts = self._current()
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            owner = self._keys.get(digest)
        if owner is not None:
            return owner
        parts = split_key(key)
        account = next((a for a in accounts.values() if parts and parts[0] in a.keys), None)
        if parts is None or account is None or not verify_secret(parts[1], account.keys[parts[0]]):
            return None
        with self._lock:
            if accounts is self._accounts:  # not remembered across a change of the file
                self._keys[digest] = account.name
                while len(self._keys) > KEY_CACHE_SIZE:
                    self._keys.popitem(last=False)
        return account.name


class FailureLimiter:
    """Failed attempts per key (``"user:<name>"``, ``"addr:<ip>"``) in a sliding window; thread-safe."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_s: float = FAILURE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> float:
        """Seconds until any of ``keys`` may try again; 0 when all may now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window_s - now)
        return wait

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.max_failures)).append(now)
            if len(self._failures) > 10_000:  # forget keys with no recent failure
                for key in [k for k, t in self._failures.items() if not t or t[-1] < now - self.window_s]:
                    del self._failures[key]

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times


def client_address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def too_many_attempts(wait: float) -> tuple[int, dict[str, str], bytes]:
    """The 429 answer: status, headers, JSON body."""
    seconds = max(1, round(wait + 0.5))
    body = json.dumps(
        {
            "error": f"Too many failed sign-ins for this user or from this address. Wait {seconds} seconds and "
            "try again."
        }
    ).encode()
    return 429, {"retry-after": str(seconds), "content-type": "application/json"}, body


class SignInGuard:
    """ASGI middleware: limits failed sign-ins at Gradio's ``POST /login`` and expires sessions (see the module
    docstring). ``users`` None (no sign-in) passes everything through."""

    def __init__(
        self,
        app: Any,
        users: Users | None,
        limiter: FailureLimiter,
        session_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.users = users
        self.limiter = limiter
        self.session_s = session_s
        self.clock = clock
        #: token -> (user, the user's password hash at sign-in, expiry)
        self._sessions: dict[str, tuple[str, str, float]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.users is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/") == "/login":
            await self._login(scope, receive, send)
            return
        await self.app(self._without_stale_sessions(scope), receive, send)

    async def _login(self, scope: Any, receive: Any, send: Any) -> None:
        body = await _read_body(receive, MAX_LOGIN_BYTES)
        if body is None:
            await _respond(
                send,
                413,
                {"content-type": "application/json"},
                b'{"error": "The sign-in form is too large."}',
            )
            return
        name = await _form_username(scope, body)
        keys = (f"user:{name.lower()}", f"addr:{client_address(scope)}")
        wait = self.limiter.retry_after(*keys)
        if wait > 0:
            await _respond(send, *too_many_attempts(wait))
            return
        seen: dict[str, Any] = {}

        async def watching(message: Any) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                seen["token"] = _session_token(message.get("headers", []))
            await send(message)

        await self.app(scope, _replay(body, receive), watching)
        if seen.get("status") == 200 and seen.get("token"):
            self._remember(seen["token"], name)
            self.limiter.clear(keys[0])
        elif seen.get("status") in (400, 401, 403):
            self.limiter.failed(*keys)

    def _remember(self, token: str, name: str) -> None:
        now = self.clock()
        assert self.users is not None
        self._sessions = {t: s for t, s in self._sessions.items() if s[2] > now}
        self._sessions[token] = (name, self.users.password_hash(name), now + self.session_s)

    def _valid(self, token: str) -> bool:
        """A session is valid until it expires, its user is removed or their password is changed."""
        session = self._sessions.get(token)
        if session is None or session[2] <= self.clock():
            return False
        assert self.users is not None
        return bool(session[1]) and self.users.password_hash(session[0]) == session[1]

    def _without_stale_sessions(self, scope: Any) -> Any:
        """The request with the session cookies of expired sessions, removed users and unknown tokens taken out."""
        headers = scope.get("headers", [])
        if not any(k == b"cookie" and _SESSION_COOKIE in v for k, v in headers):
            return scope
        kept: list[tuple[bytes, bytes]] = []
        for key, value in headers:
            if key == b"cookie":
                pairs = [p.strip() for p in value.split(b";") if p.strip()]
                good = [
                    p for p in pairs if not p.startswith(_SESSION_COOKIE) or self._valid(_cookie_value(p))
                ]
                if not good:
                    continue
                value = b"; ".join(good)
            kept.append((key, value))
        return {**scope, "headers": kept}


def _cookie_value(pair: bytes) -> str:
    return pair.partition(b"=")[2].decode("latin-1").strip('"')


def _session_token(headers: list[tuple[bytes, bytes]]) -> str:
    """The session token Gradio set in a login response ("" if none)."""
    for key, value in headers:
        if key.lower() == b"set-cookie" and value.startswith(_SESSION_COOKIE):
            return _cookie_value(value.split(b";", 1)[0])
    return ""


async def _read_body(receive: Any, limit: int) -> bytes | None:
    """The request body; None when it is longer than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, then: Any = None) -> Callable[[], Any]:
    """An ASGI receive that gives ``body`` (already read), then passes on ``then`` (the client's disconnect)."""
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            if then is None:
                await anyio.sleep_forever()
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _form_username(scope: Any, body: bytes) -> str:
    """The user name in a sign-in form (urlencoded or multipart), stripped as Gradio strips it."""
    from starlette.requests import Request

    try:
        form = await Request(scope, _replay(body)).form()
        name = form.get("username")
    except Exception:  # a malformed form: Gradio refuses it; it still counts against the address
        return ""
    return name.strip() if isinstance(name, str) else ""


async def _respond(send: Any, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
