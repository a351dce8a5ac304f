"""Per-user upload quota and rate (SECURITY.md, case 10): a user who has uploaded a day's megabytes, or too many
files in a minute, is refused with a message saying the limit, the setting and when to try again; nothing of the
refused file is saved or indexed; other users are not affected; the quota frees up as the day moves on."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.web.quota import QuotaError, UploadQuota
from assistant.web.ui import DocumentHandlers

MB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_days_megabytes_then_refused_until_the_oldest_upload_is_a_day_old() -> None:
    clock = Clock()
    quota = UploadQuota(Settings(upload_mb_per_day=10, uploads_per_minute=100), clock)
    quota.take("ann", 6 * MB)
    clock.now += 3600
    quota.take("ann", 4 * MB)  # exactly the quota
    with pytest.raises(QuotaError, match=r"10\.0 MB, above the 10 MB a user may upload a day") as refused:
        quota.take("ann", 1)
    assert "CMO_ASSISTANT_UPLOAD_MB_PER_DAY" in str(refused.value)
    quota.take("bob", 10 * MB)  # another user has a quota of their own
    clock.now += 23 * 3600 + 1  # the first upload is more than a day old now
    quota.take("ann", 6 * MB)
    with pytest.raises(QuotaError):
        quota.take("ann", 1)


def test_more_uploads_a_minute_than_allowed_are_refused_until_the_minute_is_over() -> None:
    clock = Clock()
    quota = UploadQuota(Settings(upload_mb_per_day=100, uploads_per_minute=3), clock)
    for _ in range(3):
        quota.take("ann", 10)
        clock.now += 1
    with pytest.raises(QuotaError, match="at most 3 uploads a minute") as refused:
        quota.take("ann", 10)
    assert "wait a minute" in str(refused.value)
    quota.take(None, 10)  # without sign-in, everyone together is one user, apart from ann
    clock.now += 58
    quota.take("ann", 10)


def test_the_app_refuses_an_upload_over_the_quota_by_name_and_saves_nothing(
    make_assistant, tmp_path: Path
) -> None:
    assistant = make_assistant(upload_mb_per_day=0.001, uploads_per_minute=10)  # about 1 KB a day
    handlers = DocumentHandlers(assistant, None)
    small, large = tmp_path / "badges.md", tmp_path / "visitors.md"
    small.write_text("# Badges\n\nLost badges are replaced by the security office.\n")
    large.write_text("# Visitors\n\n" + "Visitors sign in at the front desk and wear a sticker. " * 40)
    status, *_ = handlers.upload([str(small), str(large)], None)
    first, second = status.split("\n\n")
    assert first == "badges.md: added and searchable now."
    assert second.startswith("visitors.md: not added.") and "MB a user may upload a day" in second
    assert not (assistant.settings.uploads_dir / "visitors.md").exists()
    assert "uploads/visitors.md" not in assistant.manifest.documents()
