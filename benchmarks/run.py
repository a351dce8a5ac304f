"""Run every benchmark and print the figures (`make bench`). Results land in benchmarks/results/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ask_latency
import ingest

if __name__ == "__main__":
    print("ingest:", json.dumps(ingest.main(), indent=2))
    print("ask latency:", json.dumps(ask_latency.main(), indent=2))
