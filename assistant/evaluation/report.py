"""Reports of an evaluation run: summary.json, results.jsonl, report.md, report.html and PNG charts.

The report only reads the data contract of ``results.py``; the one thing it computes is the comparison with a
previous run (:func:`compare`). Markdown and HTML are rendered from one in-memory outline, so they always say
the same thing. Every file is written to a temp file in the same folder and moved into place with
``os.replace``, and ``summary.json`` goes last: an interrupted run leaves the previous report whole.
Everything that comes from cases, answers or the run itself is HTML-escaped; charts are embedded as data URIs,
so report.html loads nothing and runs nothing.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeAlias

from ..errors import ConfigError
from .results import LOWER_IS_BETTER, CaseResult, EvalRun, GateResult, RunSummary

__all__ = ["Delta", "RunSummaryError", "compare", "load_summary", "write_run"]

SUMMARY, RESULTS, REPORT_MD, REPORT_HTML = "summary.json", "results.jsonl", "report.md", "report.html"
METRICS_CHART, CATEGORIES_CHART, ABLATION_CHART = "metrics.png", "categories.png", "ablation.png"
CHARTS = (METRICS_CHART, CATEGORIES_CHART, ABLATION_CHART)

#: a quality metric regresses when it is worse by more than this (absolute)
DEFAULT_TOLERANCE = 0.01
#: a timing regresses only when it is worse by more than this share of the previous value (timing noise)
LATENCY_TOLERANCE = 0.20
#: characters of an answer shown under "cases to look at"
EXCERPT_CHARS = 200
_EPS = 1e-9
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
    "refusal_rate": "share of must-refuse cases that were refused",
    "false_refusal_rate": "share of answerable cases that were refused",
    "latency_p50_ms": "median time of one ask call, in milliseconds",
    "latency_p95_ms": "95th-percentile time of one ask call, in milliseconds",
}
#: the metrics drawn per category, when the run has them ("hit@" matches any k)
CATEGORY_CHART_METRICS = ("hit@", "key_fact_coverage", "faithfulness", "refusal_rate")


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
        regressed=worse_by > limit + _EPS,
        improved=-worse_by > limit + _EPS,
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
    return metric.endswith("_ms")


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f}" if is_timing(metric) else f"{value:.3f}"


# --- reading and writing runs ----------------------------------------------------------------------------


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
class _Comparison:
    source: Path
    name: str
    created: str
    tolerance: float
    deltas: list[Delta]
    #: "what: before → now" for the dataset, backend, case count and settings that differ
    differences: tuple[str, ...] = ()

    @property
    def regressions(self) -> list[str]:
        return [d.metric for d in self.deltas if d.regressed]


def write_run(
    run: EvalRun, out_dir: Path, previous: Path | None = None, *, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Path]:
    """Write the whole report of ``run`` into ``out_dir`` (created, parents too).

    Files: summary.json, results.jsonl, report.md, report.html and the charts (metrics.png, categories.png,
    ablation.png when there is an ablation). Charts of an earlier report that this run has no data for are
    removed, so the folder never mixes two runs.

    :param previous: a previous run's folder; adds a delta table and a ``comparison`` to summary.json.
    :param tolerance: see :func:`compare`.
    :returns: file name -> path of every file written.
    :raises RunSummaryError: (a ValueError) when ``previous`` is not a run folder; nothing is written then.
    """
    comparison = None
    if previous is not None:
        before = load_summary(previous)
        comparison = _Comparison(
            source=Path(previous),
            name=str(before.get("name", "")),
            created=str(before.get("created", "")),
            tolerance=tolerance,
            deltas=compare(run.summary, before, tolerance),
            differences=_differences(run.summary, before),
        )
    charts = _render_charts(run)
    outline = _outline(run, comparison, charts)
    # Everything is rendered before anything is written; summary.json last marks the report complete.
    files: dict[str, bytes] = dict(charts)
    files[RESULTS] = "".join(_json_line(r.to_dict()) for r in run.results).encode("utf-8")
    files[REPORT_MD] = _markdown(outline).encode("utf-8")
    files[REPORT_HTML] = _html(outline).encode("utf-8")
    files[SUMMARY] = _dumps(_summary_dict(run, comparison), indent=2).encode("utf-8")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {name: _write_atomic(out_dir / name, data) for name, data in files.items()}
    for stale in set(CHARTS) - set(charts):
        (out_dir / stale).unlink(missing_ok=True)
    return written


def _differences(current: RunSummary, before: Mapping[str, Any]) -> tuple[str, ...]:
    """What differs between the two runs' set-ups; figures from different set-ups are not like for like."""
    old_settings = before.get("settings")
    old = {"dataset": before.get("dataset"), "backend": before.get("backend"), "cases": before.get("cases")}
    if isinstance(old_settings, Mapping):
        old.update(old_settings)
    new = {"dataset": current.dataset, "backend": current.backend, "cases": current.cases, **current.settings}
    return tuple(
        f"{key}: {_setting(old.get(key))} → {_setting(new.get(key))}"
        for key in dict.fromkeys([*old, *new])
        if _dumps(old.get(key)) != _dumps(new.get(key))
    )


def _summary_dict(run: EvalRun, comparison: _Comparison | None = None) -> dict[str, Any]:
    """What summary.json holds: the RunSummary fields, ``ablation``, ``gate`` and (with a previous run) ``comparison``."""
    data = run.summary.to_dict()
    data["ablation"] = run.ablation
    data["gate"] = _gate_dict(run.gate)
    if comparison is not None:
        data["comparison"] = {
            "previous": {
                "path": str(comparison.source),
                "name": comparison.name,
                "created": comparison.created,
            },
            "tolerance": comparison.tolerance,
            "latency_tolerance": LATENCY_TOLERANCE,
            "regressions": comparison.regressions,
            "differences": list(comparison.differences),
            "deltas": [asdict(d) for d in comparison.deltas],
        }
    return data


def _gate_dict(gate: GateResult | None) -> dict[str, Any] | None:
    if gate is None:
        return None
    checks = [
        {"metric": metric, "kind": kind, "bound": bound, "actual": actual, "passed": ok}
        for metric, kind, bound, actual, ok in gate.checks
    ]
    return {"passed": gate.passed, "checks": checks, "failures": gate.failures()}


def _finite(value: Any) -> Any:
    """NaN and infinities become null: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, default=str, indent=indent)


def _json_line(value: Any) -> str:
    return _dumps(value) + "\n"


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write to a temp file next to ``path``, flush it to disk, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


# --- charts ----------------------------------------------------------------------------------------------


def _render_charts(run: EvalRun) -> dict[str, bytes]:
    """PNG bytes by file name: overall quality metrics, a few key metrics per category, the ablation."""
    charts: dict[str, bytes] = {}
    summary = run.summary
    quality = [m for m in metric_order(summary.metrics) if not is_timing(m)]
    if quality:
        series: list[tuple[str, list[float | None]]] = [(summary.name, [summary.metrics[m] for m in quality])]
        charts[METRICS_CHART] = _bars("Overall metrics", [_chart_label(m) for m in quality], series)
    picked = _category_metrics(summary.by_category)
    if summary.by_category and picked:
        categories = sorted(summary.by_category)
        series = [(m, [summary.by_category[c].get(m) for c in categories]) for m in picked]
        charts[CATEGORIES_CHART] = _bars("Key metrics by category", categories, series)
    if run.ablation:
        names = [m for m in metric_order(n for row in run.ablation.values() for n in row) if not is_timing(m)]
        if names:
            series = [(config, [row.get(m) for m in names]) for config, row in run.ablation.items()]
            labels = [_chart_label(m) for m in names]
            charts[ABLATION_CHART] = _bars("Ablation: the same cases per configuration", labels, series)
    return charts


def _chart_label(metric: str) -> str:
    return f"{metric} (lower is better)" if metric in LOWER_IS_BETTER else metric


def _category_metrics(by_category: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The CATEGORY_CHART_METRICS the run has; else its first four quality metrics."""
    present = metric_order(n for row in by_category.values() for n in row if not is_timing(n))
    picked = []
    for want in CATEGORY_CHART_METRICS:
        found = next((m for m in present if m == want or (want.endswith("@") and m.startswith(want))), None)
        if found is not None:
            picked.append(found)
    return picked or present[:4]


def _bars(title: str, groups: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]) -> bytes:
    """Horizontal bars, one row per group and one bar per series in it; missing values leave a gap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = max(len(series), 1)
    height = 0.8 / n
    fig = Figure(figsize=(8.5, max(2.4, 0.24 * len(groups) * max(n, 1.6) + 1.4)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = 1.0
    for j, (label, values) in enumerate(series):
        points = [(i + (j - (n - 1) / 2) * height, v) for i, v in enumerate(values) if v is not None]
        if not points:
            continue
        bars = ax.barh([y for y, _ in points], [v for _, v in points], height=height * 0.92, label=label)
        if n <= 2:
            ax.bar_label(bars, fmt="%.2f", padding=3, fontsize=8)
        top = max(top, *(v for _, v in points))
    ax.set_yticks(range(len(groups)), list(groups))
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.1)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title)
    if n > 1:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=min(n, 4), frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


# --- the outline both renderers share --------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    text: str
    #: "pass" or "fail" puts weight (and colour, in HTML) on the line
    tone: str = ""


@dataclass(frozen=True)
class _Facts:
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    #: columns shown as code (metric names)
    code: frozenset[int] = frozenset({0})
    #: right-aligned columns
    numeric: frozenset[int] = frozenset()
    #: rows to emphasise: failed checks, regressions
    flagged: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Chart:
    file: str
    title: str
    png: bytes


@dataclass(frozen=True)
class _Case:
    case_id: str
    category: str
    split: str
    reasons: tuple[str, ...]
    question: str
    answer: str
    cited: tuple[str, ...]


@dataclass(frozen=True)
class _Cases:
    cases: tuple[_Case, ...]


_Block: TypeAlias = _Text | _Facts | _Table | _Chart | _Cases


@dataclass(frozen=True)
class _Section:
    title: str
    blocks: tuple[_Block, ...]


@dataclass(frozen=True)
class _Outline:
    title: str
    #: under the title, before the first section: what was run, and the verdicts
    intro: tuple[_Block, ...]
    sections: tuple[_Section, ...]


def _outline(run: EvalRun, comparison: _Comparison | None, charts: Mapping[str, bytes]) -> _Outline:
    s = run.summary
    look = _cases_to_look_at(run.results)
    sections = [
        _overall(s, charts),
        _gate(run.gate),
        *([_comparison(comparison)] if comparison is not None else []),
        _categories(s, run.results, charts),
        *([_ablation(run.ablation, charts)] if run.ablation else []),
        _look_at(look, len(run.results)),
    ]
    if s.settings:
        items = tuple((str(k), _setting(v)) for k, v in s.settings.items())
        sections.append(_Section("Settings", (_Facts(items),)))
    return _Outline(
        f"CMO Assistant evaluation: {s.name}", _intro(run, comparison, len(look)), tuple(sections)
    )


def _setting(value: Any) -> str:
    return str(value) if isinstance(value, str | os.PathLike) else _dumps(value)


def _intro(run: EvalRun, comparison: _Comparison | None, to_look_at: int) -> tuple[_Block, ...]:
    s = run.summary
    answerable = sum(r.answerable for r in run.results)
    cases = str(s.cases)
    if run.results:
        cases += f" ({answerable} answerable, {len(run.results) - answerable} must refuse)"
    facts = _Facts(
        (
            ("Run", s.name),
            ("Backend", s.backend),
            ("Dataset", s.dataset),
            ("Date", s.created),
            ("Cases", cases),
        )
    )
    blocks: list[_Block] = [facts]
    if run.gate is None:
        blocks.append(_Text("Gate: not checked."))
    elif run.gate.passed:
        blocks.append(_Text(f"Gate: PASSED ({len(run.gate.checks)} thresholds met).", "pass"))
    else:
        failed = len(run.gate.failures())
        blocks.append(_Text(f"Gate: FAILED ({failed} of {len(run.gate.checks)} thresholds not met).", "fail"))
    if comparison is not None:
        regressions = comparison.regressions
        if regressions:
            plural = "s" if len(regressions) != 1 else ""
            listed = ", ".join(regressions)
            blocks.append(
                _Text(f"▼ {len(regressions)} regression{plural} since the previous run: {listed}.", "fail")
            )
        else:
            blocks.append(_Text("No regressions since the previous run.", "pass"))
    blocks.append(_Text(f"Cases to look at: {to_look_at} of {len(run.results)}."))
    return tuple(blocks)


def _overall(s: RunSummary, charts: Mapping[str, bytes]) -> _Section:
    names = metric_order(s.metrics)
    table = _Table(
        ("metric", "value", "definition"),
        tuple((m, _fmt(m, s.metrics[m]), describe(m)) for m in names),
        numeric=frozenset({1}),
    )
    blocks: list[_Block] = [table]
    if METRICS_CHART in charts:
        blocks.append(_Chart(METRICS_CHART, "Overall quality metrics", charts[METRICS_CHART]))
    return _Section("Overall metrics", tuple(blocks))


def _gate(gate: GateResult | None) -> _Section:
    if gate is None:
        return _Section("Gate", (_Text("No thresholds were checked."),))
    if not gate.checks:
        return _Section("Gate", (_Text("The thresholds file sets no bounds."),))
    if gate.passed:
        verdict = _Text("PASSED: every threshold is met.", "pass")
    else:
        verdict = _Text("FAILED: " + "; ".join(gate.failures()) + ".", "fail")
    rows = tuple(
        (
            metric,
            f"{'≥' if kind == 'min' else '≤'} {_fmt(metric, bound)}",
            "missing" if actual is None else _fmt(metric, actual),
            "pass" if ok else "FAIL",
        )
        for metric, kind, bound, actual, ok in gate.checks
    )
    flagged = frozenset(i for i, check in enumerate(gate.checks) if not check[-1])
    table = _Table(
        ("metric", "threshold", "actual", "result"), rows, numeric=frozenset({1, 2}), flagged=flagged
    )
    return _Section("Gate", (verdict, table))


def _comparison(c: _Comparison) -> _Section:
    facts = _Facts((("Previous run", c.name or "(unnamed)"), ("Date", c.created), ("Folder", str(c.source))))
    rule = _Text(
        f"A quality metric regresses when it is worse by more than {c.tolerance:.3f}; a timing when it is "
        f"slower by more than {LATENCY_TOLERANCE:.0%} (timing noise)."
    )
    notes: tuple[_Block, ...] = ()
    if c.differences:
        listed = "; ".join(c.differences)
        notes = (
            _Text(f"The runs were set up differently, so not every change is the assistant's: {listed}."),
        )
    rows = tuple(
        (d.metric, _fmt(d.metric, d.previous), _fmt(d.metric, d.current), _change(d), _status(d))
        for d in c.deltas
    )
    flagged = frozenset(i for i, d in enumerate(c.deltas) if d.regressed)
    table = _Table(
        ("metric", "previous", "current", "change", "status"),
        rows,
        numeric=frozenset({1, 2, 3}),
        flagged=flagged,
    )
    return _Section("Compared with the previous run", (facts, *notes, rule, table))


def _change(d: Delta) -> str:
    if d.change is None or d.previous is None:
        return ""
    if is_timing(d.metric):
        relative = f" ({d.change / d.previous:+.0%})" if d.previous else ""
        return f"{d.change:+.1f}{relative}"
    return f"{d.change:+.3f}"


def _status(d: Delta) -> str:
    if d.previous is None:
        return "new in this run"
    if d.current is None:
        return "missing in this run"
    if d.regressed:
        return "▼ REGRESSION"
    if d.improved:
        return "▲ better"
    return "same" if abs(d.change or 0.0) < _EPS else "within tolerance"


def _categories(s: RunSummary, results: Sequence[CaseResult], charts: Mapping[str, bytes]) -> _Section:
    if not s.by_category:
        return _Section("By category", (_Text("No per-category figures in this run."),))
    names = [m for m in metric_order(n for row in s.by_category.values() for n in row) if not is_timing(m)]
    counts: dict[str, int] = {}
    for r in results:
        counts[r.category] = counts.get(r.category, 0) + 1
    categories = sorted(s.by_category)
    rows = tuple(
        (c, str(counts.get(c, "")), *(_fmt(m, s.by_category[c].get(m)) for m in names)) for c in categories
    )
    table = _Table(
        ("category", "cases", *names),
        rows,
        code=frozenset(),
        numeric=frozenset(range(1, len(names) + 2)),
    )
    blocks: list[_Block] = [table]
    if CATEGORIES_CHART in charts:
        blocks.append(_Chart(CATEGORIES_CHART, "Key metrics by category", charts[CATEGORIES_CHART]))
    return _Section("By category", tuple(blocks))


def _ablation(ablation: Mapping[str, Mapping[str, float]], charts: Mapping[str, bytes]) -> _Section:
    names = metric_order(n for row in ablation.values() for n in row)
    rows = tuple((config, *(_fmt(m, row.get(m)) for m in names)) for config, row in ablation.items())
    table = _Table(
        ("configuration", *names), rows, code=frozenset(), numeric=frozenset(range(1, len(names) + 1))
    )
    blocks: list[_Block] = [_Text("The same cases, run once per configuration."), table]
    if ABLATION_CHART in charts:
        blocks.append(_Chart(ABLATION_CHART, "Ablation", charts[ABLATION_CHART]))
    return _Section("Ablation", tuple(blocks))


def _look_at(cases: Sequence[_Case], total: int) -> _Section:
    if not cases:
        return _Section("Cases to look at", (_Text("None: every case passed every check."),))
    intro = _Text(
        f"{len(cases)} of {total} cases: answerable but refused, must refuse but answered, or an answer with "
        "key facts missing, unsupported sentences, or citations that do not support their sentence."
    )
    return _Section("Cases to look at", (intro, _Cases(tuple(cases))))


def _cases_to_look_at(results: Sequence[CaseResult]) -> list[_Case]:
    found = []
    for r in results:
        reasons = _reasons(r)
        if reasons:
            cited = tuple(f"[{c.get('marker', '?')}] {c.get('doc_id', '')}" for c in r.citations)
            found.append(
                _Case(r.case_id, r.category, r.split, tuple(reasons), r.question, _excerpt(r.answer), cited)
            )
    return found


def _reasons(r: CaseResult) -> list[str]:
    reasons = []
    if r.answerable and not r.answered:
        reasons.append("answerable but refused")
    if not r.answerable and r.answered:
        reasons.append("must refuse but answered")
    for metric, label in (
        ("key_fact_coverage", "key facts"),
        ("faithfulness", "faithfulness"),
        ("citation_precision", "citation precision"),
    ):
        value = r.scores.get(metric)
        # A refusal scores 0 key facts by definition; "refused" already says it.
        if value is not None and value < 1 - _EPS and not (metric == "key_fact_coverage" and not r.answered):
            reasons.append(f"{label} {value:.2f}")
    return reasons


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


# --- Markdown --------------------------------------------------------------------------------------------


def _md_text(text: str) -> str:
    """Inline text made inert: HTML escaped, Markdown emphasis/links/table pipes escaped, one line."""
    flat = html.escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*\[\]|])", r"\\\1", flat)


def _md_code(text: str) -> str:
    flat = " ".join(str(text).split()).replace("`", "'")
    return f"`{flat}`" if flat else ""


def _markdown(outline: _Outline) -> str:
    out = [f"# {_md_text(outline.title)}", ""]
    for block in outline.intro:
        out += [*_md_block(block), ""]
    for section in outline.sections:
        out += [f"## {_md_text(section.title)}", ""]
        for block in section.blocks:
            out += _md_block(block)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md_block(block: _Block) -> list[str]:
    if isinstance(block, _Text):
        text = _md_text(block.text)
        return [f"**{text}**" if block.tone else text]
    if isinstance(block, _Facts):
        return [f"- **{_md_text(k)}:** {_md_text(v)}" for k, v in block.items]
    if isinstance(block, _Table):
        return _md_table(block)
    if isinstance(block, _Chart):
        return [f"![{_md_text(block.title)}]({block.file})"]
    lines = []
    for case in block.cases:
        lines.append(
            f"- **{_md_text(case.case_id)}** ({_md_text(case.category)}, {_md_text(case.split)}): "
            + _md_text("; ".join(case.reasons))
        )
        lines.append(f"  - Question: {_md_text(case.question)}")
        lines.append(f"  - Answer: {_md_text(case.answer) or '(empty)'}")
        if case.cited:
            lines.append(f"  - Cited: {_md_text(', '.join(case.cited))}")
    return lines


def _md_table(table: _Table) -> list[str]:
    def cell(row: int | None, col: int, value: str) -> str:
        text = _md_code(value) if col in table.code and row is not None else _md_text(value)
        return f"**{text}**" if row in table.flagged and text else text

    header = "| " + " | ".join(cell(None, i, h) for i, h in enumerate(table.header)) + " |"
    rule = "| " + " | ".join("---:" if i in table.numeric else "---" for i in range(len(table.header))) + " |"
    body = [
        "| " + " | ".join(cell(r, i, v) for i, v in enumerate(row)) + " |" for r, row in enumerate(table.rows)
    ]
    return [header, rule, *body]


# --- HTML ------------------------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2430;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:1.6em;margin:.2em 0 .6em}h2{font-size:1.2em;margin:1.8em 0 .6em;border-bottom:1px solid #e3e6ea}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #e3e6ea;padding:4px 9px;vertical-align:top;text-align:left}
th{background:#f0f2f5}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.flag td{background:#fdecec;color:#8a1111;font-weight:600}
code{font:.92em ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:0 3px;border-radius:3px}
p.pass{color:#11672f;font-weight:600}p.fail{color:#a01414;font-weight:600}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:.4em 0}dt{font-weight:600}dd{margin:0}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #e3e6ea}
figcaption{font-size:.85em;color:#5b6470}
ol.cases li{margin-bottom:.9em}.meta{color:#5b6470}
blockquote{margin:.3em 0;padding:.3em .8em;border-left:3px solid #c9ced6;background:#fafbfc;white-space:pre-wrap}
"""
#: even if something slipped through escaping, the page may not run scripts or load anything
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _html(outline: _Outline) -> str:
    body = [f"<h1>{_e(outline.title)}</h1>", *(_html_block(block) for block in outline.intro)]
    for section in outline.sections:
        body.append(f"<section><h2>{_e(section.title)}</h2>")
        body += [_html_block(block) for block in section.blocks]
        body.append("</section>")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(outline.title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(body)
        + "\n</main></body></html>\n"
    )


def _html_block(block: _Block) -> str:
    if isinstance(block, _Text):
        tone = f" class='{block.tone}'" if block.tone in ("pass", "fail") else ""
        return f"<p{tone}>{_e(block.text)}</p>"
    if isinstance(block, _Facts):
        return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in block.items) + "</dl>"
    if isinstance(block, _Table):
        return _html_table(block)
    if isinstance(block, _Chart):
        data = base64.b64encode(block.png).decode("ascii")
        return (
            f"<figure><img alt='{_e(block.title)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{_e(block.title)} ({_e(block.file)})</figcaption></figure>"
        )
    items = []
    for case in block.cases:
        cited = f"<div class='meta'>Cited: {_e(', '.join(case.cited))}</div>" if case.cited else ""
        items.append(
            f"<li><div><strong>{_e(case.case_id)}</strong> <span class='meta'>{_e(case.category)} · "
            f"{_e(case.split)}</span> — {_e('; '.join(case.reasons))}</div>"
            f"<div>Question: {_e(case.question)}</div>"
            f"<blockquote>{_e(case.answer) or '(empty)'}</blockquote>{cited}</li>"
        )
    return "<ol class='cases'>" + "".join(items) + "</ol>"


def _html_table(table: _Table) -> str:
    def cell(tag: str, col: int, value: str, code: bool) -> str:
        cls = " class='num'" if col in table.numeric else ""
        inner = f"<code>{_e(value)}</code>" if code and value else _e(value)
        return f"<{tag}{cls}>{inner}</{tag}>"

    head = "".join(cell("th", i, h, False) for i, h in enumerate(table.header))
    rows = []
    for r, row in enumerate(table.rows):
        cls = " class='flag'" if r in table.flagged else ""
        rows.append(
            f"<tr{cls}>" + "".join(cell("td", i, v, i in table.code) for i, v in enumerate(row)) + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
