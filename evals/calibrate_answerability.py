"""Fit the answerability model on the dev split and choose its threshold there.

    python evals/calibrate_answerability.py [--data-dir DIR]

Reads the dev cases of evals/golden.jsonl, evals/users.jsonl, evals/more_users.jsonl and evals/dev_cases.jsonl
(never test or paraphrase), runs each question
through the assistant up to the sentences it would quote, and records the evidence (assistant/answer/
answerability.py). A logistic model (standardised features, L2) is fitted on all dev cases; its threshold is the
one that maximises balanced accuracy (answerable answered, must-refuse refused) over 5-fold cross-validated
probabilities on dev, so the threshold is not chosen on the same predictions it was fitted to, among the
thresholds that refuse at most 10% of the answerable dev cases. Writes
assistant/data/answerability.json with the weights, the threshold and the dev curve (the eval report draws it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant import Assistant, Settings
from assistant.answer.answerability import DIRECTIONS, FEATURES, MODEL_FILE, AnswerabilityModel
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.config import PROJECT_ROOT

DATASETS = (
    "golden.jsonl",
    "users.jsonl",
    "more_users.jsonl",
    "dev_cases.jsonl",
    "asked_cases.jsonl",
    "blind_cases.jsonl",
)
L2 = 1.0
FOLDS = 5
MAX_FALSE_REFUSALS = 0.10


def dev_cases() -> list[dict[str, Any]]:
    cases = []
    for name in DATASETS:
        for line in (PROJECT_ROOT / "evals" / name).read_text("utf-8").splitlines():
            if line.strip() and (case := json.loads(line))["split"] == "dev":
                cases.append(case)
    return cases


def evidence_table(assistant: Assistant, cases: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    answerer = assistant.answerer
    assert isinstance(answerer, ExtractiveAnswerer), "calibrate with the extractive answerer"
    rows, labels = [], []
    for case in cases:
        if answerer.glossary.other_meaning_in(case["question"]) is not None:
            continue  # refused by rule before any evidence is weighed
        request = assistant.request(case["question"], history=case.get("history") or [])
        evidence, _ = answerer.assess(request)
        if evidence is None or evidence.missing_name or evidence.money_missing or evidence.money_stated:
            continue  # nothing to quote, a name the sources lack, or money missing or stated: decided by rule
        rows.append(evidence.vector())
        labels.append(1.0 if case["answerable"] else 0.0)
    return np.array(rows), np.array(labels)


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Logistic regression (standardised features, L2), each weight kept to its feature's direction
    (DIRECTIONS) by projected gradient descent."""
    # a feature the fitted cases never vary (figure_missing, when no case the model decides lacks its figure)
    # is divided by 1, not by a spread of 0: its weight stays 0 and the model never divides by 0
    mean, spread = x.mean(axis=0), x.std(axis=0)
    scale = np.where(spread > 1e-6, spread, 1.0)
    z = (x - mean) / scale
    signs = np.array([DIRECTIONS[name] for name in FEATURES])
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(5000):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + L2 * w / len(y))
        w = np.where(w * signs < 0, 0.0, w)
        b -= 0.5 * float(np.mean(p - y))
    return w, b, mean, scale


def predict(model: tuple[np.ndarray, float, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    w, b, mean, scale = model
    return np.asarray(1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ w + b))))


def cross_validated(x: np.ndarray, y: np.ndarray, repeats: int = 5) -> np.ndarray:
    """Each case's probability from models fitted without it (5 folds), averaged over differently seeded
    splits so the chosen threshold does not hinge on one random split of a small set."""
    out = np.zeros(len(y))
    for seed in range(repeats):
        order = np.random.default_rng(seed).permutation(len(y))
        for fold in np.array_split(order, FOLDS):
            train = np.setdiff1d(order, fold)
            out[fold] += predict(fit(x[train], y[train]), x[fold]) / repeats
    return out


def curve(p: np.ndarray, y: np.ndarray) -> list[dict[str, float]]:
    points = []
    for t in np.round(np.arange(0.05, 0.96, 0.025), 3):
        answered = p >= t
        points.append(
            {
                "threshold": float(t),
                "false_refusal_rate": float(np.mean(~answered[y == 1])),
                "refusal_rate": float(np.mean(~answered[y == 0])),
                "precision": float(np.mean(y[answered] == 1)) if answered.any() else 1.0,
                "recall": float(np.mean(answered[y == 1])),
            }
        )
    return points


def operating_point(points: list[dict[str, float]]) -> dict[str, float]:
    """The threshold with the best balanced accuracy among those that refuse at most MAX_FALSE_REFUSALS of
    the answerable dev cases (cross-validated): a refused answerable question is what users meet most, and
    with about twenty must-refuse dev cases, balanced accuracy alone swings to strict thresholds on one case."""
    allowed = [q for q in points if q["false_refusal_rate"] <= MAX_FALSE_REFUSALS] or points[:1]
    return max(allowed, key=lambda q: (1 - q["false_refusal_rate"] + q["refusal_rate"], q["threshold"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    assistant = Assistant(Settings.from_env(data_dir=args.data_dir))
    assistant.ensure_index()
    x, y = evidence_table(assistant, dev_cases())
    points = curve(cross_validated(x, y), y)
    best = operating_point(points)
    w, b, mean, scale = fit(x, y)
    model = AnswerabilityModel(
        weights=tuple(round(float(v), 6) for v in w),
        bias=round(b, 6),
        mean=tuple(round(float(v), 6) for v in mean),
        scale=tuple(round(float(v), 6) for v in scale),
        threshold=best["threshold"],
        features=FEATURES,
        fitted={
            "split": "dev",
            "datasets": list(DATASETS),
            "cases": len(y),
            "answerable": int(y.sum()),
            "must_refuse": int(len(y) - y.sum()),
            "operating_point": best,
            "curve": points,
        },
    )
    out = PROJECT_ROOT / "assistant" / "data" / MODEL_FILE
    out.write_text(model.to_json() + "\n", encoding="utf-8")
    print(f"{len(y)} dev cases; threshold {best['threshold']}: {best}")
    print(dict(zip(FEATURES, model.weights, strict=True)), "bias", model.bias)


if __name__ == "__main__":
    main()
