"""Installed versions that the security of the app depends on."""

from importlib.metadata import version

from packaging.version import Version


def test_gradio_is_at_least_6_20() -> None:
    """Releases before 6.20 carry known file-access and SSRF advisories."""
    assert Version(version("gradio")) >= Version("6.20"), version("gradio")


def test_torch_is_the_pinned_cpu_build() -> None:
    assert version("torch").startswith("2.13.0"), version("torch")
