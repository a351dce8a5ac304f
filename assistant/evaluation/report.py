"""Reports of an evaluation run: summary.json, results.jsonl, report.md, report.html and PNG charts.

:func:`write_run` puts together what the other modules make: the comparison with a previous run
(``comparison.py``), the charts (``charts.py``) and report.md/report.html (``render.py``), and writes the
run's files. Every file is written to a temp file in the same folder and moved into place with
``os.replace``, and ``summary.json`` goes last: an interrupted run leaves the previous report whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from assistant.evaluation.charts import CHARTS, render_charts
from assistant.evaluation.comparison import (
    DEFAULT_TOLERANCE,
    LATENCY_TOLERANCE,
    SUMMARY,
    Comparison,
    Delta,
    RunSummaryError,
    compare,
    differences,
    dumps,
    load_summary,
)
from assistant.evaluation.render import build_outline, render_html, render_markdown
from assistant.evaluation.results import CaseResult, EvalRun, GateResult
from assistant.evaluation.runner import aggregate
from assistant.evaluation.uncertainty import paired_intervals
from assistant.files import write_atomic

__all__ = ["Delta", "RunSummaryError", "compare", "load_results", "load_summary", "write_run"]

RESULTS, REPORT_MD, REPORT_HTML = "results.jsonl", "report.md", "report.html"


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
        deltas = compare(run.summary, before, tolerance)
        earlier = load_results(Path(previous))
        paired = paired_intervals(run.results, earlier)
        deltas = [
            replace(d, interval=paired[d.metric].as_list()) if d.metric in paired else d for d in deltas
        ]
        comparison = Comparison(
            source=Path(previous),
            name=str(before.get("name", "")),
            created=str(before.get("created", "")),
            tolerance=tolerance,
            deltas=deltas,
            differences=differences(run.summary, before),
            split_changes=_split_changes(run, earlier),
        )
    charts = render_charts(run)
    outline = build_outline(run, comparison, charts)
    # Everything is rendered before anything is written; summary.json last marks the report complete.
    files: dict[str, bytes] = dict(charts)
    files[RESULTS] = "".join(_json_line(r.to_dict()) for r in run.results).encode("utf-8")
    files[REPORT_MD] = render_markdown(outline).encode("utf-8")
    files[REPORT_HTML] = render_html(outline).encode("utf-8")
    files[SUMMARY] = dumps(_summary_dict(run, comparison), indent=2).encode("utf-8")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {name: write_atomic(out_dir / name, data) for name, data in files.items()}
    for stale in set(CHARTS) - set(charts):
        (out_dir / stale).unlink(missing_ok=True)
    return written


def _split_changes(
    run: EvalRun, earlier: list[CaseResult]
) -> dict[str, dict[str, tuple[float, list[float]]]]:
    """Per split both runs have, each quality metric's change on that split's shared cases and its interval."""
    out: dict[str, dict[str, tuple[float, list[float]]]] = {}
    for split in run.summary.by_split:
        now = [r for r in run.results if r.split == split]
        then = [r for r in earlier if r.split == split]
        paired = paired_intervals(now, then)
        if not paired:
            continue
        shared = {r.case_id for r in now} & {r.case_id for r in then}
        ours = aggregate([r for r in now if r.case_id in shared])
        theirs = aggregate([r for r in then if r.case_id in shared])
        out[split] = {
            m: (round(ours[m] - theirs[m], 4), i.as_list())
            for m, i in paired.items()
            if m in ours and m in theirs
        }
    return out


def load_results(run_dir: Path) -> list[CaseResult]:
    """The cases of a previous run's results.jsonl ([] when the folder has none, or it cannot be read: the
    comparison then goes without intervals)."""
    try:
        lines = (Path(run_dir) / RESULTS).read_text("utf-8").splitlines()
        return [CaseResult.from_dict(json.loads(line)) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        return []


def _summary_dict(run: EvalRun, comparison: Comparison | None = None) -> dict[str, Any]:
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
            "split_changes": comparison.split_changes,
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


def _json_line(value: Any) -> str:
    return dumps(value) + "\n"
