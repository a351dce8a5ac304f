"""How sure the eval's figures are: a bootstrap interval for each figure, and a paired one for a change.

A rate over a split of a few hundred cases moves by several points when a handful of answers change: 26 false
refusals out of 222 answerable test questions is 0.118, and another 222 questions of the same kind could as
well give 0.08 or 0.16. Each figure is shown with the range it takes over resamples of its cases (a percentile
bootstrap: RESAMPLES samples of the cases, drawn with replacement, seeded so a report is the same every time it
is made). A change between two runs of the same cases is judged on those cases paired: both runs are scored on
the same resample, so what every case shares (how hard it is) cancels out, and the interval of the change is
much narrower than the two runs' own intervals. A change whose interval holds 0 is within the noise of the
cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.evaluation.results import WEIGHTED, WEIGHTS, CaseResult

__all__ = ["LEVEL", "RESAMPLES", "Interval", "columns", "intervals", "paired_intervals"]

#: resamples of the cases per interval
RESAMPLES = 2000
#: the share of resampled figures an interval holds
LEVEL = 0.95
_SEED = 0


@dataclass(frozen=True)
class Interval:
    """The range a figure (or a change in one) takes over resamples of the cases."""

    low: float
    high: float

    @property
    def holds_zero(self) -> bool:
        """The change could be nothing: its interval reaches from below 0 to above it (or touches 0)."""
        return self.low <= 0.0 <= self.high

    def as_list(self) -> list[float]:
        return [round(self.low, 4), round(self.high, 4)]


def columns(results: Sequence[CaseResult]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each quality metric as a value and a weight per case (weight 0 where it does not apply), such that
    sum(value x weight) / sum(weight) is the figure :func:`runner.aggregate` reports: a plain mean over the cases
    it applies to, a mean weighted by another score (``WEIGHTED``), or the share of must-refuse cases refused
    (``refusal_rate``) and of answerable cases refused (``false_refusal_rate``). Timings are left out."""
    names = sorted({n for r in results for n in r.scores if n != "refused" and n not in WEIGHTS})
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in names:
        values = np.array([_or_zero(r.scores.get(name)) for r in results])
        applies = np.array([r.scores.get(name) is not None for r in results], dtype=np.float64)
        weight = WEIGHTED.get(name)
        if weight is not None:
            applies = applies * np.array([_or_zero(r.scores.get(weight)) for r in results])
        out[name] = (values, applies)
    refused = np.array([float(not r.answered) for r in results])
    answerable = np.array([float(r.answerable) for r in results])
    out["refusal_rate"] = (refused, 1.0 - answerable)
    out["false_refusal_rate"] = (refused, answerable)
    return {name: column for name, column in out.items() if column[1].sum() > 0}


def intervals(results: Sequence[CaseResult]) -> dict[str, Interval]:
    """Each quality metric's interval over resamples of ``results`` (none for fewer than two cases)."""
    if len(results) < 2:
        return {}
    draws = _draws(len(results))
    out: dict[str, Interval] = {}
    for name, (values, weights) in columns(results).items():
        figures = _figures(values, weights, draws)
        figures = figures[~np.isnan(figures)]
        if figures.size:
            out[name] = _interval(figures)
    return out


def paired_intervals(current: Sequence[CaseResult], previous: Sequence[CaseResult]) -> dict[str, Interval]:
    """Each quality metric's change (current - previous) over resamples of the cases both runs answered,
    matched by split and case id; none when fewer than two cases are shared."""
    before = {(r.split, r.case_id): r for r in previous}
    pairs = [(r, before[key]) for r in current if (key := (r.split, r.case_id)) in before]
    if len(pairs) < 2:
        return {}
    now, then = columns([a for a, _ in pairs]), columns([b for _, b in pairs])
    draws = _draws(len(pairs))
    out: dict[str, Interval] = {}
    for name in sorted(set(now) & set(then)):
        change = _figures(*now[name], draws) - _figures(*then[name], draws)
        change = change[~np.isnan(change)]  # resamples where the metric applies in both runs
        if change.size:
            out[name] = _interval(change)
    return out


def _or_zero(value: float | None) -> float:
    return 0.0 if value is None else float(value)


def _draws(n: int) -> np.ndarray:
    """RESAMPLES rows of n case indices drawn with replacement, the same for the same n."""
    return np.random.default_rng(_SEED).integers(0, n, size=(RESAMPLES, n))


def _figures(values: np.ndarray, weights: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The metric on each resample; NaN where it applies to no case of the resample."""
    totals = weights[draws].sum(axis=1)
    sums = (values * weights)[draws].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(totals > 0, sums / totals, np.nan))


def _interval(figures: np.ndarray) -> Interval:
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(figures, [tail, 1 - tail])
    return Interval(float(low), float(high))
