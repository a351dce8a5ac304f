"""The CI gate: thresholds from a TOML file.

``[min]`` and ``[max]`` tables of ``metric = bound`` apply to the run's overall metrics; ``[split.<name>.min]``
and ``[split.<name>.max]`` tables apply to the metrics of one split (``[split.test.min]``), and are skipped
when the run has no case of that split (``--split dev``). A per-split check is named ``<split>/<metric>``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError
from assistant.evaluation.results import GateResult

DEFAULT_THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.toml"
_BOUNDS = ("min", "max")


def load_thresholds(path: Path | None = None) -> dict[str, Any]:
    path = path or DEFAULT_THRESHOLDS
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the thresholds file {path}: {exc.strerror or exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The thresholds file {path} is not valid TOML: {exc}.") from None
    _check_bounds(path, data, "")
    splits = data.get("split", {})
    if not isinstance(splits, dict):
        raise ConfigError(f"{path}: [split] must hold one table per split, e.g. [split.test.min].")
    for name, table in splits.items():
        where = f"split.{name}."
        unknown = sorted(set(table) - set(_BOUNDS)) if isinstance(table, dict) else ["(not a table)"]
        if unknown:
            raise ConfigError(
                f"{path}: [split.{name}] may hold only [{where}min] and [{where}max] tables, not {', '.join(unknown)}."
            )
        _check_bounds(path, table, where)
    return data


def _check_bounds(path: Path, data: Mapping[str, Any], where: str) -> None:
    for table in _BOUNDS:
        bounds = data.get(table, {})
        if not isinstance(bounds, dict):
            raise ConfigError(f"{path}: [{where}{table}] must be a table of metric = bound.")
        for metric, bound in bounds.items():
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                raise ConfigError(f"{path}: [{where}{table}] {metric} must be a number, not {bound!r}.")


def support_threshold(thresholds: dict[str, Any]) -> float:
    value = thresholds.get("support", {}).get("threshold", 0.89)
    if not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"[support] threshold must be a number in (0, 1], not {value!r}.")
    return float(value)


def check(
    metrics: dict[str, float],
    thresholds: dict[str, Any],
    by_split: Mapping[str, Mapping[str, float]] | None = None,
) -> GateResult:
    """Every bound of the thresholds against the run's metrics; a metric the run lacks fails its bound.

    :param by_split: the run's metrics per split, for the ``[split.<name>]`` bounds; a split the run has no
        figures for is skipped (it was not run), one it has is checked like the overall metrics.
    """
    checks = _checks(metrics, thresholds, "")
    for split, bounds in thresholds.get("split", {}).items():
        if by_split is not None and split in by_split:
            checks += _checks(by_split[split], bounds, f"{split}/")
    return GateResult(checks)


def _checks(
    metrics: Mapping[str, float], thresholds: Mapping[str, Any], prefix: str
) -> list[tuple[str, str, float, float | None, bool]]:
    checks: list[tuple[str, str, float, float | None, bool]] = []
    for kind in _BOUNDS:
        for metric, bound in thresholds.get(kind, {}).items():
            actual = metrics.get(metric)
            ok = actual is not None and (actual >= bound if kind == "min" else actual <= bound)
            checks.append((f"{prefix}{metric}", kind, float(bound), actual, ok))
    return checks
