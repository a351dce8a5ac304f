"""Settings precedence (explicit > environment > default) and start-up validation with readable messages."""

from __future__ import annotations

import os
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import ConfigError


def test_default_when_neither_environment_nor_argument() -> None:
    settings = Settings.from_env(environ={})
    assert settings == Settings()
    defaults = {f.name: f.default for f in fields(Settings) if f.default is not MISSING}
    assert settings.top_k == defaults["top_k"]
    assert settings.fusion == defaults["fusion"]
    assert settings.chroma_url == ""
    assert settings.data_dir == Path("data")


def test_environment_overrides_default() -> None:
    settings = Settings.from_env(
        environ={
            "CMO_ASSISTANT_TOP_K": "7",
            "CMO_ASSISTANT_FUSION": "weighted",
            "CMO_ASSISTANT_MAX_FILE_MB": "2.5",
            "CMO_ASSISTANT_DATA_DIR": "/srv/index",
            "CMO_ASSISTANT_SOURCES": os.pathsep.join(["/a", "/b"]),
        }
    )
    assert settings.top_k == 7
    assert settings.fusion == "weighted"
    assert Settings.from_env(environ={"CMO_ASSISTANT_FUSION": "rrf"}).fusion == "rrf"
    assert settings.max_file_bytes == int(2.5 * 1024 * 1024)
    assert settings.data_dir == Path("/srv/index")
    assert settings.manifest_path == Path("/srv/index/manifest.sqlite3")
    assert settings.sources == (Path("/a"), Path("/b"))


def test_explicit_argument_overrides_environment() -> None:
    env = {"CMO_ASSISTANT_TOP_K": "7", "CMO_ASSISTANT_DATA_DIR": "/from/env"}
    settings = Settings.from_env(environ=env, top_k=3, data_dir=Path("/explicit"))
    assert settings.top_k == 3
    assert settings.data_dir == Path("/explicit")


def test_none_argument_falls_back_to_environment() -> None:
    """The CLI passes None for options the user did not give."""
    settings = Settings.from_env(environ={"CMO_ASSISTANT_CHROMA_URL": "http://db:8000"}, chroma_url=None)
    assert settings.chroma_url == "http://db:8000"


def test_empty_environment_value_means_default() -> None:
    assert Settings.from_env(environ={"CMO_ASSISTANT_TOP_K": ""}).top_k == Settings().top_k


def test_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMO_ASSISTANT_TOP_K", "9")
    assert Settings.from_env().top_k == 9


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"top_k": 0}, ["top_k", "0"]),
        ({"fusion": "x"}, ["fusion", "'x'"]),
        ({"chunk_tokens": 300}, ["chunk_tokens", "300", "256"]),
        ({"chroma_url": "localhost:8000"}, ["chroma_url", "'localhost:8000'", "http://"]),
        ({"chunk_overlap_tokens": 80}, ["chunk_overlap_tokens", "80"]),
        ({"fusion_dense_weight": 1.5}, ["fusion_dense_weight", "1.5"]),
        ({"top_k": 30, "candidates": 20}, ["candidates", "top_k", "20"]),
        ({"max_file_mb": 0}, ["max_file_mb", "0"]),
        ({"chroma_timeout_s": 0}, ["chroma_timeout_s", "0"]),
        ({"session_hours": 0}, ["session_hours", "0"]),
        ({"session_hours": float("nan")}, ["session_hours", "nan"]),
        ({"api_workers": 0}, ["api_workers", "0"]),
    ],
)
def test_bad_values_name_the_setting_and_value(overrides: dict[str, object], names: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(environ={}, **overrides)
    for name in names:
        assert name in str(info.value)


def test_bad_values_are_refused_when_constructed_directly() -> None:
    with pytest.raises(ConfigError, match="top_k"):
        Settings(top_k=-1)


def test_non_number_in_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(environ={"CMO_ASSISTANT_TOP_K": "five"})
    assert "CMO_ASSISTANT_TOP_K" in str(info.value)
    assert "'five'" in str(info.value)
    assert "number" in str(info.value)


def test_bad_environment_value_is_validated_like_an_argument() -> None:
    with pytest.raises(ConfigError, match="chroma_url"):
        Settings.from_env(environ={"CMO_ASSISTANT_CHROMA_URL": "db:8000"})


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="top_kk"):
        Settings.from_env(environ={}, top_kk=3)


def test_source_roots_are_unique_and_include_uploads(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, sources=(corpus, tmp_path / "mine"))
    roots = settings.source_roots((tmp_path / "mine", tmp_path / "more"))
    assert roots == [
        corpus.resolve(),
        (tmp_path / "data" / "uploads").resolve(),
        (tmp_path / "mine").resolve(),
        (tmp_path / "more").resolve(),
    ]


def test_infinite_file_size_limit_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="max_file_mb"):
        Settings.from_env(environ={"CMO_ASSISTANT_MAX_FILE_MB": "inf"})


def test_the_model_export_lives_in_the_data_dir_unless_a_cache_folder_is_set(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path / "data").models_dir == tmp_path / "data" / "models"
    shared = Settings.from_env(
        environ={
            "CMO_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
            "CMO_ASSISTANT_MODEL_CACHE_DIR": "~/models",
        }
    )
    assert shared.models_dir == Path("~/models").expanduser()
