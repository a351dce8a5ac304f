"""Offline evaluation: golden cases -> answers -> metrics -> reports, ablations and a CI gate.

No judge model: every metric is defined on text overlap or sentence-embedding similarity (evals/README.md).
"""
