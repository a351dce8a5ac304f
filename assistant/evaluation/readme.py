"""The README's table of eval figures, written by ``cmo-assistant eval --readme`` (``make eval``).

The table sits between ``<!-- eval:start -->`` and ``<!-- eval:end -->`` in README.md; everything around the
markers is kept as written. Only the full default run writes it (every split of the default datasets, the
default answerer), so the README never shows the figures of a partial run.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import ConfigError
from assistant.evaluation.results import RunSummary
from assistant.files import write_atomic

__all__ = ["END", "ROWS", "START", "readme_block", "readme_table", "update_readme"]

START, END = "<!-- eval:start -->", "<!-- eval:end -->"

#: (row label, the metrics shown in its cells, joined by " / "), in the order the README shows them
ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hit@5", ("hit@5",)),
    ("MRR", ("mrr",)),
    ("false-refusal rate (answerable refused)", ("false_refusal_rate",)),
    ("refusal rate (must-refuse refused)", ("refusal_rate",)),
    ("refused answerable: nearest sections hold the answer's document", ("refusal_points_to_source",)),
    ("key-fact coverage", ("key_fact_coverage",)),
    ("key fact in the first sentence", ("key_fact_first",)),
    ('answers opening with a dangling "It/This/Finally"', ("dangling_opener_rate",)),
    (
        'answers with a later "It/This/Finally" cut off from the sentence it follows',
        ("dangling_inside_rate",),
    ),
    ("list items before their lead-in", ("list_before_leadin_rate",)),
    ("documents per answer", ("documents_per_answer",)),
    ("citation precision / faithfulness", ("citation_precision", "faithfulness")),
)
#: the splits never used to choose anything: their columns are set in bold
HELD_OUT = frozenset({"test", "paraphrase"})


def _cell(metric: str, value: float | None, interval: list[float] | None = None) -> str:
    """The figure, and its 95% interval in brackets when it has one that is not a single value."""
    if value is None:
        return "-"
    text = f"{value:.2f}" if metric == "documents_per_answer" else f"{value:.3f}"
    if interval and interval[1] - interval[0] > 1e-9:
        text += f" ({interval[0]:.2f}–{interval[1]:.2f})"
    return text


def readme_table(summary: RunSummary) -> str:
    """The per-split figures of ``summary`` as a Markdown table: a row per metric, a column per split with its
    number of cases (held-out splits in bold), each figure with its 95% interval when the summary has one; a
    metric no case of a split has shows as ``-``."""
    splits = list(summary.by_split)
    heads = []
    for split in splits:
        head = f"{split} ({summary.split_cases[split]})" if split in summary.split_cases else split
        heads.append(f"**{head}**" if split in HELD_OUT else head)
    lines = ["| metric | " + " | ".join(heads) + " |", "| --- |" + " --- |" * len(splits)]
    for label, metrics in ROWS:
        cells = [
            " / ".join(
                _cell(m, summary.by_split[split].get(m), summary.split_intervals.get(split, {}).get(m))
                for m in metrics
            )
            for split in splits
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_block(summary: RunSummary) -> str:
    """What goes between the markers: the run's date and case count, then the table."""
    day = summary.created[:10]
    said = f"Written by `cmo-assistant eval --readme` on {day}: {summary.cases} cases, default settings."
    if summary.split_intervals:
        said += " In brackets: the range a figure takes over resamples of its split's cases (95% bootstrap)."
    return f"{START}\n{said}\n\n{readme_table(summary)}\n{END}"


def update_readme(summary: RunSummary, readme: Path) -> Path:
    """Replace the eval table between the markers in ``readme`` with the figures of ``summary``.

    :raises ConfigError: when the file cannot be read, or does not hold each marker once, start before end
        (nothing is written then).
    """
    try:
        text = readme.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read {readme} to write the eval table ({exc.strerror or exc}).") from None
    starts, ends = text.count(START), text.count(END)
    if starts != 1 or ends != 1 or text.index(START) > text.index(END):
        raise ConfigError(
            f"{readme} needs the lines {START} and {END} once each, in that order, where the eval table "
            f"goes (found {starts} and {ends}); add them, or run `cmo-assistant eval` without --readme."
        )
    pattern = re.escape(START) + r".*?" + re.escape(END)
    updated = re.sub(pattern, lambda _: readme_block(summary), text, count=1, flags=re.S)
    return write_atomic(readme, updated.encode("utf-8"))
