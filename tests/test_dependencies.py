"""Installed versions that the security of the app depends on."""

import tomllib
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from assistant.config import PROJECT_ROOT

#: Releases before 6.20 carry known file-access and SSRF advisories.
MINIMUM_GRADIO = Version("6.20")


def gradio_too_old(installed: str) -> bool:
    return Version(installed) < MINIMUM_GRADIO


@pytest.mark.parametrize(
    ("installed", "too_old"),
    [
        ("6.19.2", True),
        ("6.9.0", True),  # "6.9" sorts after "6.20" as text; not as a version
        ("6.2", True),
        ("5.50.0", True),
        ("6.20.0rc1", True),  # a release candidate comes before the release
        ("6.20", False),
        ("6.20.0", False),
        ("6.31.0", False),
        ("6.100.0", False),
        ("7.0.0", False),
    ],
)
def test_the_gradio_check_fails_for_releases_before_6_20(installed: str, too_old: bool) -> None:
    assert gradio_too_old(installed) is too_old


def test_gradio_is_at_least_6_20() -> None:
    assert not gradio_too_old(version("gradio")), f"gradio {version('gradio')} is older than {MINIMUM_GRADIO}"


def test_the_installed_version_check_fails_when_gradio_6_19_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(globals(), "version", lambda name: "6.19.2")
    with pytest.raises(AssertionError, match=r"gradio 6\.19\.2 is older than 6\.20"):
        test_gradio_is_at_least_6_20()


def test_the_gradio_requirement_cannot_install_a_release_before_6_20() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    (gradio,) = [r for r in map(Requirement, project["dependencies"]) if r.name == "gradio"]
    allowed = [
        v
        for v in ("5.50.0", "6.9.0", "6.19.2", "6.20.0rc1")
        if gradio.specifier.contains(v, prereleases=True)
    ]
    assert allowed == [], f"pyproject.toml allows gradio {allowed}"
    assert gradio.specifier.contains(version("gradio")), f"installed gradio is not what {gradio} asks for"


def test_torch_is_the_pinned_cpu_build() -> None:
    assert version("torch").startswith("2.13.0"), version("torch")
