"""Shared fixtures. Real components throughout: the bundled embedding model, a real Chroma, real files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import SHARED_MODEL_CACHE
from chroma_server import ChromaServer
from postgres_server import PostgresServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Every app, server and command the tests start shares one ONNX export of the model (435 MB), keyed by the
# model's fingerprint and written atomically, instead of writing one into each test's data dir: the suite starts
# dozens of them, and that filled a small CI disk.
os.environ[SHARED_MODEL_CACHE] = tempfile.mkdtemp(prefix="cmo-assistant-test-models-")

from assistant.config import PROJECT_ROOT, Settings
from assistant.pipeline import Assistant
from assistant.search.embeddings import Embedder

CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(autouse=True)
def _no_user_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's CMO_ASSISTANT_* settings (the shared model cache is the tests' own)."""
    for key in list(os.environ):
        if key.startswith("CMO_ASSISTANT_") and key != SHARED_MODEL_CACHE:
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real bundled embedding model, loaded once per test session; its ONNX export, made at the first
    ingest, is the one the processes the tests start share."""
    return Embedder("", Path(os.environ[SHARED_MODEL_CACHE]))


@pytest.fixture()
def make_settings(tmp_path: Path):
    """Settings over an empty corpus folder and data dir in tmp_path (pass overrides as keywords)."""

    def make(**overrides) -> Settings:
        # A tmp corpus's policies/ folder holds the test's own documents, not shipped examples: indexed always,
        # unless a test sets example_policies itself.
        overrides.setdefault("example_policies", "always")
        corpus = overrides.pop("corpus_dir", tmp_path / "corpus")
        Path(corpus).mkdir(parents=True, exist_ok=True)
        return Settings(data_dir=overrides.pop("data_dir", tmp_path / "data"), corpus_dir=corpus, **overrides)

    return make


@pytest.fixture()
def make_assistant(make_settings, embedder: Embedder):
    """An Assistant over a tmp corpus that shares the session's loaded embedding model."""

    def make(**overrides) -> Assistant:
        assistant = Assistant.build(make_settings(**overrides), embedder=embedder)
        return assistant

    return make


@pytest.fixture(scope="session")
def shipped(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Assistant]:
    """An Assistant over the real shipped corpus (articles + example policies), indexed once per session."""
    data = tmp_path_factory.mktemp("shipped-data")
    assistant = Assistant.build(Settings(data_dir=data, corpus_dir=CORPUS), embedder=embedder)
    report = assistant.ingest()
    assert not report.skipped, report.summary()
    yield assistant


@pytest.fixture()
def cli_env(shipped: Assistant, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    """The shipped index, as the command line finds it through the environment."""
    monkeypatch.setenv("CMO_ASSISTANT_DATA_DIR", str(shipped.settings.data_dir))
    monkeypatch.setenv("CMO_ASSISTANT_CORPUS_DIR", str(shipped.settings.corpus_dir))
    return shipped


@pytest.fixture()
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    """A real Chroma server on 127.0.0.1 (killed afterwards); ``chroma.kill()`` / ``chroma.start()`` mid-test."""
    server = ChromaServer(tmp_path / "server-data", tmp_path / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for the session; ``postgres.create_database()`` per test.
    Skipped only when PostgreSQL is not installed."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(os.environ[SHARED_MODEL_CACHE], ignore_errors=True)
