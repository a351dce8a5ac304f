"""The report of an evaluation run as Markdown and HTML, both rendered from one outline.

:func:`build_outline` turns an EvalRun (with the comparison and the charts) into an outline of sections and
blocks; :func:`render_markdown` and :func:`render_html` render it, so the two files always say the same
thing. Everything that comes from cases, answers or the run itself is HTML-escaped; charts are embedded as
data URIs, so report.html loads nothing and runs nothing.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from assistant.evaluation.charts import ABLATION_CHART, ANSWERABILITY_CHART, CATEGORIES_CHART, METRICS_CHART
from assistant.evaluation.comparison import (
    EPS,
    LATENCY_TOLERANCE,
    Comparison,
    Delta,
    describe,
    format_setting,
    format_value,
    is_timing,
    metric_order,
)
from assistant.evaluation.results import CaseResult, EvalRun, GateResult, RunSummary
from assistant.evaluation.uncertainty import RESAMPLES, Interval

__all__ = ["EXCERPT_CHARS", "Outline", "build_outline", "render_html", "render_markdown"]

#: characters of an answer shown under "cases to look at"
EXCERPT_CHARS = 200


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
    dataset: str = ""

    @property
    def where(self) -> tuple[str, ...]:
        """Category, split, and the dataset when known."""
        return tuple(p for p in (self.category, self.split, self.dataset) if p)


@dataclass(frozen=True)
class _Cases:
    cases: tuple[_Case, ...]


_Block: TypeAlias = _Text | _Facts | _Table | _Chart | _Cases


@dataclass(frozen=True)
class _Section:
    title: str
    blocks: tuple[_Block, ...]


@dataclass(frozen=True)
class Outline:
    title: str
    #: under the title, before the first section: what was run, and the verdicts
    intro: tuple[_Block, ...]
    sections: tuple[_Section, ...]


def build_outline(run: EvalRun, comparison: Comparison | None, charts: Mapping[str, bytes]) -> Outline:
    """What the report says, in order: the intro, then one section per topic.

    :param comparison: the comparison with a previous run, if any; adds its section.
    :param charts: PNG bytes by file name, as :func:`charts.render_charts` returns them.
    """
    s = run.summary
    look = _cases_to_look_at(run.results)
    sections = [
        _overall(s, charts),
        *([_by_split(s)] if s.by_split else []),
        *([_certainty(s)] if s.intervals else []),
        *([_by_dataset(s)] if s.by_dataset else []),
        _gate(run.gate),
        *([_comparison(comparison)] if comparison is not None else []),
        _categories(s, run.results, charts),
        *([_ablation(run.ablation, charts)] if run.ablation else []),
        *([_answerability(run.answerability, charts)] if run.answerability.get("curve") else []),
        _look_at(look, len(run.results)),
    ]
    if s.settings:
        items = tuple((str(k), format_setting(v)) for k, v in s.settings.items())
        sections.append(_Section("Settings", (_Facts(items),)))
    return Outline(f"CMO Assistant evaluation: {s.name}", _intro(run, comparison, len(look)), tuple(sections))


def _intro(run: EvalRun, comparison: Comparison | None, to_look_at: int) -> tuple[_Block, ...]:
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
            *((("Splits", _counts(s.split_cases)),) if s.split_cases else ()),
            *((("Datasets", _counts(s.dataset_cases)),) if s.dataset_cases else ()),
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
        tuple((m, format_value(m, s.metrics[m]), describe(m)) for m in names),
        numeric=frozenset({1}),
    )
    blocks: list[_Block] = [table]
    if METRICS_CHART in charts:
        blocks.append(_Chart(METRICS_CHART, "Overall quality metrics", charts[METRICS_CHART]))
    return _Section("Overall metrics", tuple(blocks))


def _answerability(fitted: Mapping[str, Any], charts: Mapping[str, bytes]) -> _Section:
    """Where the refusal decision's threshold sits on its dev curve."""
    point = fitted.get("operating_point") or {}
    facts = _Facts(
        (
            ("Threshold", f"{fitted['threshold']:g} (answer when the probability is at least this)"),
            ("Features", ", ".join(fitted.get("features", ()))),
            ("Fitted on", f"{fitted.get('split', '?')} of {', '.join(fitted.get('datasets', ()))}"),
            (
                "Cases",
                f"{fitted.get('cases', '?')} ({fitted.get('answerable', '?')} answerable, "
                f"{fitted.get('must_refuse', '?')} must refuse; refused by rule before the model: not counted)",
            ),
            *(
                (name, f"{point[key]:.3f}")
                for name, key in (
                    ("Dev precision at the threshold", "precision"),
                    ("Dev recall at the threshold", "recall"),
                    ("Dev false refusals at the threshold", "false_refusal_rate"),
                    ("Dev must-refuse refused at the threshold", "refusal_rate"),
                )
                if key in point
            ),
        )
    )
    blocks: list[_Block] = [
        _Text(
            "Whether to answer is a logistic model over the evidence (assistant/answer/answerability.py), fitted "
            "on dev by evals/calibrate_answerability.py; the threshold maximises balanced accuracy over "
            "cross-validated dev probabilities among the thresholds that refuse at most 10% of the answerable "
            "dev cases. The curve is that dev curve; the figures above are this run's."
        ),
        facts,
    ]
    if ANSWERABILITY_CHART in charts:
        blocks.append(_Chart(ANSWERABILITY_CHART, "Answer or refuse", charts[ANSWERABILITY_CHART]))
    return _Section("The refusal decision", tuple(blocks))


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def _grouped(
    overall: Mapping[str, float], groups: Mapping[str, Mapping[str, float]], counts: Mapping[str, int]
) -> _Table:
    """Rows = metrics, columns = all cases then each group (split or dataset), with its case count."""
    names = metric_order({*overall, *(n for row in groups.values() for n in row)})
    header = ("metric", "all", *(f"{g} ({counts[g]})" if g in counts else g for g in groups))
    rows = tuple(
        (m, format_value(m, overall.get(m)), *(format_value(m, row.get(m)) for row in groups.values()))
        for m in names
    )
    return _Table(header, rows, numeric=frozenset(range(1, len(groups) + 2)))


def _by_split(s: RunSummary) -> _Section:
    intro = _Text(
        "Each metric over all cases and per split: dev is for tuning; test and paraphrase are never tuned on. "
        "A blank cell: the metric does not apply to any case of that split."
    )
    return _Section("By split", (intro, _grouped(s.metrics, s.by_split, s.split_cases)))


def _certainty(s: RunSummary) -> _Section:
    """Each quality metric's 95% bootstrap interval, over all cases and per split."""
    intro = _Text(
        f"The range each figure takes over {RESAMPLES} resamples of its cases (95% bootstrap intervals, "
        "assistant/evaluation/uncertainty.py): another set of questions of the same kind would likely score "
        "within it. A difference between two figures whose ranges overlap may be chance; a comparison with a "
        "previous run (--compare) judges a change on the cases both runs answered."
    )
    splits = {split: s.split_intervals.get(split, {}) for split in s.by_split}
    names = metric_order({*s.intervals, *(m for row in splits.values() for m in row)})
    header = ("metric", "all", *(f"{g} ({s.split_cases[g]})" if g in s.split_cases else g for g in splits))
    rows = tuple(
        (m, _range(m, s.intervals.get(m)), *(_range(m, row.get(m)) for row in splits.values())) for m in names
    )
    return _Section(
        "How sure the figures are",
        (intro, _Table(header, rows, numeric=frozenset(range(1, len(splits) + 2)))),
    )


def _range(metric: str, interval: Sequence[float] | None) -> str:
    if not interval:
        return ""
    return f"{format_value(metric, interval[0])}–{format_value(metric, interval[1])}"


def _by_dataset(s: RunSummary) -> _Section:
    return _Section("By dataset", (_grouped(s.metrics, s.by_dataset, s.dataset_cases),))


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
            f"{'≥' if kind == 'min' else '≤'} {format_value(metric, bound)}",
            "missing" if actual is None else format_value(metric, actual),
            "pass" if ok else "FAIL",
        )
        for metric, kind, bound, actual, ok in gate.checks
    )
    flagged = frozenset(i for i, check in enumerate(gate.checks) if not check[-1])
    table = _Table(
        ("metric", "threshold", "actual", "result"), rows, numeric=frozenset({1, 2}), flagged=flagged
    )
    return _Section("Gate", (verdict, table))


def _comparison(c: Comparison) -> _Section:
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
    paired = any(d.interval is not None for d in c.deltas)
    if paired:
        rule = _Text(
            rule.text + " The change's 95% interval is over resamples of the cases both runs answered: a "
            "change whose interval holds 0 is within the noise of these cases."
        )
    rows = tuple(
        (
            d.metric,
            format_value(d.metric, d.previous),
            format_value(d.metric, d.current),
            _change(d),
            *((_change_range(d),) if paired else ()),
            _status(d),
        )
        for d in c.deltas
    )
    flagged = frozenset(i for i, d in enumerate(c.deltas) if d.regressed)
    header = ("metric", "previous", "current", "change", *(("95% interval",) if paired else ()), "status")
    table = _Table(header, rows, numeric=frozenset({1, 2, 3, 4} if paired else {1, 2, 3}), flagged=flagged)
    return _Section("Compared with the previous run", (facts, *notes, rule, table, *_split_changes(c)))


def _split_changes(c: Comparison) -> tuple[_Block, ...]:
    """Each split's changes with their intervals: a gain on dev is a gain only when the held-out splits show it."""
    if not c.split_changes:
        return ()
    splits = list(c.split_changes)
    names = metric_order({m for row in c.split_changes.values() for m in row})

    def cell(split: str, metric: str) -> str:
        if metric not in c.split_changes[split]:
            return ""
        change, (low, high) = c.split_changes[split][metric]
        if abs(change) < EPS and abs(low) < EPS and abs(high) < EPS:
            return "same"
        mark = "" if Interval(low, high).holds_zero else " clear"
        return f"{change:+.3f} ({low:+.3f} to {high:+.3f}){mark}"

    intro = _Text(
        'Per split, on the cases both runs answered: the change and its 95% interval. "clear" marks a change '
        "beyond the noise of that split's cases (its interval does not hold 0)."
    )
    rows = tuple((m, *(cell(split, m) for split in splits)) for m in names)
    return (intro, _Table(("metric", *splits), rows, numeric=frozenset(range(1, len(splits) + 1))))


def _change_range(d: Delta) -> str:
    if d.interval is None:
        return ""
    low, high = d.interval
    if abs(low) < EPS and abs(high) < EPS:
        return ""
    return f"{low:+.3f} to {high:+.3f}" + (" (noise)" if d.within_noise else "")


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
    return "same" if abs(d.change or 0.0) < EPS else "within tolerance"


def _categories(s: RunSummary, results: Sequence[CaseResult], charts: Mapping[str, bytes]) -> _Section:
    if not s.by_category:
        return _Section("By category", (_Text("No per-category figures in this run."),))
    names = [m for m in metric_order(n for row in s.by_category.values() for n in row) if not is_timing(m)]
    counts: dict[str, int] = {}
    for r in results:
        counts[r.category] = counts.get(r.category, 0) + 1
    categories = sorted(s.by_category)
    rows = tuple(
        (c, str(counts.get(c, "")), *(format_value(m, s.by_category[c].get(m)) for m in names))
        for c in categories
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
    rows = tuple((config, *(format_value(m, row.get(m)) for m in names)) for config, row in ablation.items())
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
                _Case(
                    r.case_id,
                    r.category,
                    r.split,
                    tuple(reasons),
                    r.question,
                    _excerpt(r.answer),
                    cited,
                    r.dataset,
                )
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
        if value is not None and value < 1 - EPS and not (metric == "key_fact_coverage" and not r.answered):
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


def render_markdown(outline: Outline) -> str:
    """report.md: the outline as Markdown, with every piece of text escaped so it renders as plain text."""
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
            f"- **{_md_text(case.case_id)}** ({_md_text(', '.join(case.where))}): "
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


def render_html(outline: Outline) -> str:
    """report.html: one self-contained page; text escaped, charts as data URIs, a CSP forbidding the rest."""
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
            f"<li><div><strong>{_e(case.case_id)}</strong> <span class='meta'>{_e(' · '.join(case.where))}"
            f"</span> — {_e('; '.join(case.reasons))}</div>"
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
