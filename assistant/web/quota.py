"""How much one user may upload: bytes per day and uploads per minute (``CMO_ASSISTANT_UPLOAD_MB_PER_DAY``,
``CMO_ASSISTANT_UPLOADS_PER_MINUTE``).

Every upload is parsed, embedded and indexed on the server, so an account (or, without sign-in, everyone
together) could otherwise keep both CPUs busy and fill the disk. The counts are kept in memory: a restart
starts them afresh, which at worst allows one more day's quota.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from assistant.config import Settings
from assistant.errors import QuestionError

DAY_S = 24 * 3600.0
MINUTE_S = 60.0


class QuotaError(QuestionError):
    """An upload above the user's quota or rate; nothing was saved."""


class UploadQuota:
    """Per user, the uploads of the last day (time, bytes); ``take`` admits one or says why not."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.max_bytes = settings.upload_max_bytes_per_day
        self.per_minute = settings.uploads_per_minute
        self.clock = clock
        self._uploads: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def take(self, user: str | None, size: int) -> None:
        """Count an upload of ``size`` bytes by ``user`` (None: nobody signed in), or raise QuotaError."""
        key = user or ""
        now = self.clock()
        with self._lock:
            uploads = self._uploads.setdefault(key, deque())
            while uploads and uploads[0][0] <= now - DAY_S:
                uploads.popleft()
            recent = sum(1 for at, _ in uploads if at > now - MINUTE_S)
            if recent >= self.per_minute:
                raise QuotaError(
                    f"at most {self.per_minute} uploads a minute (CMO_ASSISTANT_UPLOADS_PER_MINUTE); wait a "
                    "minute and upload it again."
                )
            used = sum(n for _, n in uploads)
            if used + size > self.max_bytes:
                raise QuotaError(
                    f"it would take the uploads of the last 24 hours to {(used + size) / 1048576:.1f} MB, above "
                    f"the {self.max_bytes / 1048576:g} MB a user may upload a day "
                    "(CMO_ASSISTANT_UPLOAD_MB_PER_DAY); upload it later, or ask an administrator to raise it."
                )
            uploads.append((now, size))
