"""The CI gate: thresholds from a TOML file (``[min]`` and ``[max]`` tables of metric = bound)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError
from assistant.evaluation.results import GateResult

DEFAULT_THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.toml"


def load_thresholds(path: Path | None = None) -> dict[str, Any]:
    path = path or DEFAULT_THRESHOLDS
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the thresholds file {path}: {exc.strerror or exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The thresholds file {path} is not valid TOML: {exc}.") from None
    for table in ("min", "max"):
        for metric, bound in data.get(table, {}).items():
            if not isinstance(bound, int | float):
                raise ConfigError(f"{path}: [{table}] {metric} must be a number, not {bound!r}.")
    return data


def support_threshold(thresholds: dict[str, Any]) -> float:
    value = thresholds.get("support", {}).get("threshold", 0.86)
    if not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"[support] threshold must be a number in (0, 1], not {value!r}.")
    return float(value)


def check(metrics: dict[str, float], thresholds: dict[str, Any]) -> GateResult:
    """Every bound of the thresholds against the run's metrics; a metric the run lacks fails its bound."""
    checks: list[tuple[str, str, float, float | None, bool]] = []
    for kind in ("min", "max"):
        for metric, bound in thresholds.get(kind, {}).items():
            actual = metrics.get(metric)
            ok = actual is not None and (actual >= bound if kind == "min" else actual <= bound)
            checks.append((metric, kind, float(bound), actual, ok))
    return GateResult(checks)
