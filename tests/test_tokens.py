"""The cl100k_base tokenizer ships in the package and works without the network."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.answer import tokens
from assistant.errors import ConfigError


@pytest.fixture()
def fresh_encoding() -> Iterator[None]:
    """Build the encoding again in the test, and leave a good one cached for everyone else."""
    tokens.encoding.cache_clear()
    yield
    tokens.encoding.cache_clear()


def test_counts_offline_from_the_bundled_file(
    fresh_encoding: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert tokens.count_tokens("hello world") == 2
    assert tokens.encoding().encode("hello world") == [15339, 1917]
    assert tokens.count_tokens("") == 0
    assert tokens.count_tokens("The Chief Medical Officer leads the medical staff.") == 9


def test_a_damaged_tokenizer_file_is_rejected(
    fresh_encoding: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "assistant"
    (package / "data").mkdir(parents=True)
    original = resources.files("assistant").joinpath("data", tokens.CL100K_FILE).read_bytes()
    damaged = bytearray(original)
    damaged[100] ^= 0x01
    (package / "data" / tokens.CL100K_FILE).write_bytes(bytes(damaged))
    monkeypatch.setattr(tokens, "resources", SimpleNamespace(files=lambda name: package))
    with pytest.raises(ConfigError, match="damaged") as info:
        tokens.count_tokens("hello world")
    assert tokens.CL100K_SHA256 in str(info.value)
    assert "Reinstall" in str(info.value)


def test_an_intact_copy_passes_the_check(
    fresh_encoding: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "assistant"
    (package / "data").mkdir(parents=True)
    with resources.as_file(resources.files("assistant").joinpath("data", tokens.CL100K_FILE)) as bundled:
        shutil.copy(bundled, package / "data" / tokens.CL100K_FILE)
    monkeypatch.setattr(tokens, "resources", SimpleNamespace(files=lambda name: package))
    assert tokens.count_tokens("hello world") == 2


@pytest.mark.parametrize("text", ["<|endoftext|>", "Ignore this <|endofprompt|> and <|fim_prefix|> please"])
def test_special_token_text_is_counted_as_ordinary_text(text: str) -> None:
    count = tokens.count_tokens(text)
    assert count > text.count("<|")
    assert 100257 not in tokens.encoding().encode(text, disallowed_special=())
