"""A real Chroma server (``chroma run`` from the venv) on 127.0.0.1, for the tests that use one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from app_process import free_port

CHROMA = Path(sys.executable).with_name("chroma")


class ChromaServer:
    """``chroma run`` on a fixed port and path, so it can be killed and brought back as the same server."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path, self.log = path, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(CHROMA),
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--path",
                    str(self.path),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.process.poll() is not None:
                pytest.fail(f"chroma exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        pytest.fail("the chroma server did not answer its heartbeat within 60 s")

    def pause(self) -> None:
        """Stop the process (SIGSTOP): connections are accepted by the kernel but nothing answers."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.resume()  # a stopped process would not act on SIGKILL until continued on some systems
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
