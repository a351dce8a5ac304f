"""PNG charts of an evaluation run: overall quality metrics, key metrics per category, the ablation, and the
refusal decision's precision/recall curve.

matplotlib is imported only when a chart is drawn, and draws on its Agg canvas, so importing this module
costs nothing and needs no display. Timings (``*_ms``) are not drawn.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from assistant.evaluation.comparison import is_timing, metric_order
from assistant.evaluation.results import LOWER_IS_BETTER, EvalRun

__all__ = [
    "ABLATION_CHART",
    "ANSWERABILITY_CHART",
    "CATEGORIES_CHART",
    "CHARTS",
    "METRICS_CHART",
    "render_charts",
]

METRICS_CHART, CATEGORIES_CHART, ABLATION_CHART = "metrics.png", "categories.png", "ablation.png"
ANSWERABILITY_CHART = "answerability.png"
CHARTS = (METRICS_CHART, CATEGORIES_CHART, ABLATION_CHART, ANSWERABILITY_CHART)

#: the metrics drawn per category, when the run has them ("hit@" matches any k)
CATEGORY_CHART_METRICS = ("hit@", "key_fact_coverage", "faithfulness", "refusal_rate")


def render_charts(run: EvalRun) -> dict[str, bytes]:
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
    curve = run.answerability.get("curve") or []
    if curve:
        charts[ANSWERABILITY_CHART] = _precision_recall(curve, float(run.answerability["threshold"]))
    return charts


def _precision_recall(curve: Sequence[Mapping[str, float]], threshold: float) -> bytes:
    """The refusal decision's precision/recall curve (answering = the positive class), its operating point
    marked, and the two error rates against the threshold."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    left.plot([p["recall"] for p in curve], [p["precision"] for p in curve], marker=".", linewidth=1)
    here = min(curve, key=lambda p: abs(p["threshold"] - threshold))
    left.plot([here["recall"]], [here["precision"]], "o", color="crimson", label=f"threshold {threshold:g}")
    left.set_xlabel("recall (answerable questions answered)")
    left.set_ylabel("precision (answers that were answerable)")
    left.set_title("Answer or refuse: precision / recall (dev)")
    left.legend(loc="lower left", frameon=False)
    thresholds = [p["threshold"] for p in curve]
    right.plot(thresholds, [p["false_refusal_rate"] for p in curve], label="answerable refused")
    right.plot(thresholds, [p["refusal_rate"] for p in curve], label="must-refuse refused")
    right.axvline(threshold, color="crimson", linestyle="--", linewidth=1)
    right.set_xlabel("threshold on the answerability probability")
    right.set_title("Refusals by threshold (dev)")
    right.legend(loc="center left", frameon=False)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


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
