"""``cmo-assistant ingest`` in its own process, killed with SIGKILL part-way (shared by the kill -9 tests)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from assistant.config import PROJECT_ROOT


def kill_ingest_when(
    env: dict[str, str], manifest: Path, progress: Callable[[sqlite3.Connection], int], at: int
) -> int:
    """Run an ingest with ``env`` and kill it once ``progress`` (read from the manifest) reaches ``at``.

    The manifest is polled read-only every 5 ms; the progress it showed at the kill is returned. The ingest
    must still be running then: one that finishes first fails the calling test.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", "--quiet"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists():
                try:
                    with closing(sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=1)) as db:
                        seen = progress(db)
                except sqlite3.OperationalError:
                    seen = 0
                if seen >= at:
                    proc.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.005)
    finally:
        if proc.poll() is None and seen < at:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be interrupted"
    return seen
