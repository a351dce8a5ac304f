"""Start the real web app (``python app.py``) as a subprocess, for the browser and API tests.

Each server gets its own port and data dir; the shipped corpus is indexed once per test session (by the real
``cmo-assistant ingest``) and copied into each server's data dir, so starting a server costs seconds, not an
index build. Servers bind to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 120.0
INGEST_TIMEOUT_S = 300.0
LOG_TAIL_CHARS = 6000


class ServerError(RuntimeError):
    """The app did not start, or died; the message carries the tail of its output."""


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


#: Kept when a test clears the CMO_ASSISTANT_* settings: the one model export every process of the session shares.
SHARED_MODEL_CACHE = "CMO_ASSISTANT_MODEL_CACHE_DIR"


def clean_environment() -> dict[str, str]:
    """The parent's environment without the developer's CMO_ASSISTANT_* settings (the tests' shared model cache
    stays)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CMO_ASSISTANT_") or key == SHARED_MODEL_CACHE
    }


def app_environment(
    data_dir: Path, port: int, users_file: Path | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The parent's environment without any CMO_ASSISTANT_* setting, plus the server's own (and ``extra``)."""
    env = clean_environment()
    env.update(
        CMO_ASSISTANT_DATA_DIR=str(data_dir),
        CMO_ASSISTANT_HOST=HOST,
        CMO_ASSISTANT_PORT=str(port),
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        ANONYMIZED_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
        # The tests upload policies of their own and still ask about the shipped examples.
        CMO_ASSISTANT_EXAMPLE_POLICIES="always",
    )
    if users_file is not None:
        env["CMO_ASSISTANT_USERS_FILE"] = str(users_file)
    env.update(extra or {})
    return env


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return text[-LOG_TAIL_CHARS:]


class AppServer:
    """One ``python app.py`` subprocess; output goes to files next to its data dir."""

    def __init__(
        self, data_dir: Path, users_file: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        """:param env: settings of this server on top of the usual ones (``CMO_ASSISTANT_DATABASE_URL``, ...)."""
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.stdout_path = data_dir.parent / f"{data_dir.name}-server.out"
        self.stderr_path = data_dir.parent / f"{data_dir.name}-server.err"
        self._stdout = self.stdout_path.open("wb")
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "app.py")],
            cwd=PROJECT_ROOT,
            env=app_environment(data_dir, self.port, users_file, env),
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
        )

    def output(self) -> str:
        """The tail of the server's stderr (and of its stdout), for failure messages."""
        return (
            f"--- server stderr ({self.stderr_path}) ---\n{_tail(self.stderr_path)}\n"
            f"--- server stdout ({self.stdout_path}) ---\n{_tail(self.stdout_path)}"
        )

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Wait until GET / answers 200; raise ServerError with the server's output if it dies or times out."""
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"The app exited with code {self.process.returncode} before serving {self.url}.\n"
                    + self.output()
                )
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as response:
                    if response.status == 200:
                        return
                    last_error = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.25)
        raise ServerError(
            f"The app did not answer GET {self.url}/ with 200 within {timeout:.0f} s (last: {last_error}).\n"
            + self.output()
        )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServerError(f"The app exited with code {self.process.returncode}.\n" + self.output())

    def stop(self) -> None:
        """Terminate (SIGTERM), then kill if it has not exited within 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._stdout.close()
        self._stderr.close()


@contextmanager
def running_app(
    data_dir: Path, users_file: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[AppServer]:
    """Start the app over ``data_dir`` (with ``env`` settings), wait until it serves, yield it; always stop it."""
    server = AppServer(data_dir, users_file, env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def prebuilt_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the index of the shipped corpus, built once per test session and then reused."""
    root = tmp_path_factory.getbasetemp() / "ui-prebuilt-index"
    done = root / ".complete"
    if done.exists():
        return root / "data"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    env = app_environment(root / "data", free_port())
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest"],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INGEST_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise ServerError(
            f"`cmo-assistant ingest` of the shipped corpus failed (exit {result.returncode}).\n"
            f"{result.stderr[-LOG_TAIL_CHARS:]}\n{result.stdout[-LOG_TAIL_CHARS:]}"
        )
    done.touch()
    return root / "data"


def fresh_data_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A new data dir for one server: a copy of the session's prebuilt index."""
    data_dir = tmp_path_factory.mktemp(name) / "data"
    shutil.copytree(prebuilt_index(tmp_path_factory), data_dir)
    return data_dir


def serve(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    users_file: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[AppServer]:
    """Body of a module-scoped fixture: start the app, yield it, stop it.

    If a test failed while it was running, the server's output is written to the terminal past pytest's
    capture (a module fixture's teardown output is dropped when the module's last test passed), so a failure
    in the browser can be matched to the server's traceback. A server that does not start raises ServerError
    with its output.
    """
    failed_before = request.session.testsfailed
    with running_app(fresh_data_dir(tmp_path_factory, name), users_file, env) as server:
        yield server
        if request.session.testsfailed > failed_before:
            _report(
                request, f"output of the app at {server.url} ({name}); a test failed while it ran", server
            )


def _report(request: pytest.FixtureRequest, title: str, server: AppServer) -> None:
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    text = f"\n{'-' * 30} {title} {'-' * 30}\n{server.output()}\n"
    if capture is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():
        sys.stderr.write(text)
        sys.stderr.flush()
