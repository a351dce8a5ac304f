"""Run the command line in-process and capture what it prints (shared by the CLI test modules)."""

from __future__ import annotations

import pytest

from assistant.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``cmo-assistant *argv``: exit code, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
