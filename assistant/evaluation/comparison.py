"""Comparing an evaluation run with a previous one, and the names, definitions and formats of the metrics.

Reads a previous run's ``summary.json`` (:func:`load_summary`), compares its metrics with this run's
(:func:`compare`) with the direction of better taken from ``results.LOWER_IS_BETTER``, and lists what differs
between the two runs' set-ups. The metric helpers (display order, one-line definitions, number formats) live
here too, so the charts and the rendered report name and format metrics the same way.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.evaluation.results import LOWER_IS_BETTER, RunSummary
from assistant.evaluation.uncertainty import Interval

__all__ = [
    "DEFAULT_TOLERANCE",
    "EPS",
    "LATENCY_TOLERANCE",
    "METRIC_DEFINITIONS",
    "SUMMARY",
    "Comparison",
    "Delta",
    "RunSummaryError",
    "compare",
    "describe",
    "differences",
    "dumps",
    "format_setting",
    "format_value",
    "is_timing",
    "load_summary",
    "metric_order",
]

#: the file of a run folder that holds its summary (written last: its presence marks a complete report)
SUMMARY = "summary.json"
#: a quality metric regresses when it is worse by more than this (absolute)
DEFAULT_TOLERANCE = 0.01
#: a timing regresses only when it is worse by more than this share of the previous value (timing noise)
LATENCY_TOLERANCE = 0.20
#: differences smaller than this are rounding, not change
EPS = 1e-9
_HINT = "pass a folder written by `cmo-assistant eval --out`"

#: display order and one-line definitions (evals/README.md has the full ones); "@k" names match any k
METRIC_DEFINITIONS: dict[str, str] = {
    "hit@k": "1 if any of the top {k} passages holds an expected quote (answerable cases)",
    "recall@k": "share of the case's expected quotes found in the top {k} passages",
    "mrr": "1 / rank of the first passage holding an expected quote, 0 if none in the top k",
    "ndcg@k": "rank-discounted gain of the passages holding an expected quote in the top {k} (binary relevance)",
    "citation_precision": "share of (answer sentence, cited marker) pairs where the cited passage supports the sentence",
    "citation_recall": "share of the case's expected quotes found in at least one cited passage",
    "key_fact_coverage": "share of the case's key facts found in the answer (a refusal scores 0)",
    "faithfulness": "share of answer sentences supported by at least one passage they cite",
    "key_fact_first": "share of answered answerable cases with key facts whose first sentence holds one of them",
    "dangling_opener_rate": "share of answered cases whose first sentence opens with It, This, However, Also...",
    "dangling_inside_rate": "share of answered cases with a later sentence opening with It, This, However... "
    "without the sentence it follows in its source right before it",
    "list_before_leadin_rate": "share of answered cases opening with a list item, or with a list before its lead-in",
    "off_document_rate": "share of cited answer sentences citing only documents outside the expected ones",
    "documents_per_answer": "mean number of distinct documents cited per answered case",
    "refusal_rate": "share of must-refuse cases that were refused",
    "false_refusal_rate": "share of answerable cases that were refused",
    "refusal_points_to_source": "share of refused answerable cases whose refusal shows an expected document "
    "among the sections nearest the question",
    "latency_p50_ms": "median time of one ask call, in milliseconds",
    "latency_p95_ms": "95th-percentile time of one ask call, in milliseconds",
}


class RunSummaryError(ConfigError, ValueError):
    """A folder given as a previous run holds no readable run summary.

    A ValueError for callers of this module, and an AssistantError so the CLI prints it as one line.
    """


# --- comparison ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """One metric in this run against a previous one. ``change`` is current - previous (None when one is missing)."""

    metric: str
    previous: float | None
    current: float | None
    change: float | None
    regressed: bool
    #: better by more than the same tolerance that would have made it a regression
    improved: bool = False
    #: [low, high] of the change over resamples of the cases both runs answered (uncertainty.paired_intervals);
    #: None when the previous run's cases are not at hand, or for timings
    interval: list[float] | None = None

    @property
    def within_noise(self) -> bool | None:
        """The change's interval holds 0: another sample of such cases could show no change (None: no interval)."""
        if self.interval is None:
            return None
        return Interval(*self.interval).holds_zero


def compare(
    current: RunSummary, previous: dict[str, Any], tolerance: float = DEFAULT_TOLERANCE
) -> list[Delta]:
    """Every metric of either run, in display order, with the direction of better taken from LOWER_IS_BETTER.

    :param previous: a previous run's summary, as :func:`load_summary` returns it.
    :param tolerance: how much worse (absolute) a quality metric may get before it counts as a regression.
        Timings (``*_ms``) count only when worse by more than 20% of the previous value.
    :returns: one :class:`Delta` per metric; a metric missing on one side has None there and is not flagged.
    :raises ValueError: when ``tolerance`` is negative; RunSummaryError (a ValueError) when ``previous`` has
        no ``metrics`` table.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be 0 or more. Currently, it is {tolerance}.")
    before = _metrics_of(previous)
    names = metric_order(set(current.metrics) | set(before))
    return [_delta(name, before.get(name), _number(current.metrics.get(name)), tolerance) for name in names]


def _metrics_of(summary: Mapping[str, Any]) -> dict[str, float | None]:
    metrics = summary.get("metrics") if isinstance(summary, Mapping) else None
    if not isinstance(metrics, Mapping):
        raise RunSummaryError(f'The previous run summary has no "metrics" table; {_HINT}.')
    return {str(name): _number(value) for name, value in metrics.items()}


def _delta(metric: str, previous: float | None, current: float | None, tolerance: float) -> Delta:
    if previous is None or current is None:
        return Delta(metric, previous, current, None, regressed=False)
    change = current - previous
    worse_by = change if metric in LOWER_IS_BETTER else -change
    limit = LATENCY_TOLERANCE * abs(previous) if is_timing(metric) else tolerance
    return Delta(
        metric,
        previous,
        current,
        change,
        regressed=worse_by > limit + EPS,
        improved=-worse_by > limit + EPS,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


# --- metric names ----------------------------------------------------------------------------------------


def _generic(metric: str) -> tuple[str, int | None]:
    """``"hit@5"`` -> ``("hit@k", 5)``; other names unchanged."""
    match = re.fullmatch(r"(.+)@(\d+)", metric)
    return (f"{match.group(1)}@k", int(match.group(2))) if match else (metric, None)


def metric_order(names: Iterable[str]) -> list[str]:
    """Known metrics in the order of METRIC_DEFINITIONS, then any others alphabetically."""
    known = list(METRIC_DEFINITIONS)

    def key(name: str) -> tuple[int, int, str]:
        generic, k = _generic(name)
        return (known.index(generic) if generic in known else len(known), k or 0, name)

    return sorted(set(names), key=key)


def describe(metric: str) -> str:
    """The one-line definition of a metric ("" for one this report does not know), with its direction."""
    generic, k = _generic(metric)
    text = METRIC_DEFINITIONS.get(generic, "").format(k=k if k is not None else "k")
    if metric in LOWER_IS_BETTER:
        text = f"{text} (lower is better)" if text else "lower is better"
    return text


def is_timing(metric: str) -> bool:
    """Whether ``metric`` is a timing (``*_ms``): shown with one decimal, compared by share."""
    return metric.endswith("_ms")


def format_value(metric: str, value: float | None) -> str:
    """A metric value as the report shows it ("" for a missing one)."""
    if value is None:
        return ""
    return f"{value:.1f}" if is_timing(metric) else f"{value:.3f}"


# --- reading a previous run ------------------------------------------------------------------------------


def load_summary(run_dir: Path) -> dict[str, Any]:
    """Read a previous run's ``summary.json`` (``run_dir`` may also be the file itself).

    :raises RunSummaryError: (a ValueError) naming the path, when the file is missing, unreadable, or not
        a run summary.
    """
    run_dir = Path(run_dir)
    path = run_dir if run_dir.is_file() else run_dir / SUMMARY
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise RunSummaryError(f"There is no run summary at {path}; {_HINT}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunSummaryError(f"Cannot read the run summary {path} ({exc}); {_HINT}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunSummaryError(f"{path} is not valid JSON ({exc.msg}); {_HINT}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise RunSummaryError(f'{path} is not a run summary (it has no "metrics" table); {_HINT}.')
    return data


@dataclass(frozen=True)
class Comparison:
    """This run against a previous one: where that run came from, its deltas, and how the set-ups differ."""

    source: Path
    name: str
    created: str
    tolerance: float
    deltas: list[Delta]
    #: "what: before → now" for the dataset, backend, case count and settings that differ
    differences: tuple[str, ...] = ()
    #: split -> metric -> (change, [low, high] of the change over resamples of that split's cases both runs
    #: answered), for the splits both runs have: a gain on dev is a gain only when test shows it too
    split_changes: dict[str, dict[str, tuple[float, list[float]]]] = field(default_factory=dict)

    @property
    def regressions(self) -> list[str]:
        return [d.metric for d in self.deltas if d.regressed]


def differences(current: RunSummary, before: Mapping[str, Any]) -> tuple[str, ...]:
    """What differs between the two runs' set-ups; figures from different set-ups are not like for like."""
    old_settings = before.get("settings")
    old = {"dataset": before.get("dataset"), "backend": before.get("backend"), "cases": before.get("cases")}
    if isinstance(old_settings, Mapping):
        old.update(old_settings)
    new = {"dataset": current.dataset, "backend": current.backend, "cases": current.cases, **current.settings}
    return tuple(
        f"{key}: {format_setting(old.get(key))} → {format_setting(new.get(key))}"
        for key in dict.fromkeys([*old, *new])
        if dumps(old.get(key)) != dumps(new.get(key))
    )


# --- values as text --------------------------------------------------------------------------------------


def format_setting(value: Any) -> str:
    """A setting as one line of text: strings and paths as they are, anything else as JSON."""
    return str(value) if isinstance(value, str | os.PathLike) else dumps(value)


def _finite(value: Any) -> Any:
    """NaN and infinities become null: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text of ``value`` with NaN and infinities as null and anything else unknown as its ``str``."""
    return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, default=str, indent=indent)
