"""How common a word is in English: wordfreq's Zipf frequency, read straight from wordfreq's own data file.

Every question weighs its words by this, so a fresh process (``cmo-assistant ask``) needs it for its one answer.
Importing wordfreq (with langcodes, ftfy and regex) and building its dictionary costs about 0.3 s of CPU, a fifth
of a cold answer. A word of plain letters is a single token to wordfreq, so its frequency is read here from the
same file (gzipped msgpack: a header, then one alphabetical list of words per centibel of frequency) with
wordfreq's own arithmetic; any other word (apostrophes, hyphens, digits) is handed to wordfreq itself. A test
holds the two to the same values.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import re
from functools import lru_cache
from pathlib import Path

_PLAIN = re.compile(r"[a-z]+")
#: wordfreq's ``minimum`` for ``zipf_frequency(word, "en")``: a Zipf frequency of 0, as a proportion.
_MINIMUM = 10**0 / 1e9


@lru_cache(maxsize=1)
def _centibels() -> dict[str, int] | None:
    """Word -> minus its frequency in centibels, from wordfreq's large English list (None: not readable)."""
    spec = importlib.util.find_spec("wordfreq")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "large_en.msgpack.gz"
    try:
        import msgpack  # type: ignore[import-untyped]

        with gzip.open(path, "rb") as infile:
            data = msgpack.load(infile, raw=False)
    except (OSError, ValueError, ImportError):
        return None
    header = data[0] if data else None
    if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
        return None
    return {word: index for index, bucket in enumerate(data[1:]) for word in bucket}


def _rounded(freq: float) -> float:
    """wordfreq's last step: at least the minimum, three significant digits."""
    unrounded = max(freq, _MINIMUM)
    leading_zeroes = math.floor(-math.log(unrounded, 10))
    return round(unrounded, leading_zeroes + 3)


def zipf_frequency(word: str) -> float:
    """``wordfreq.zipf_frequency(word, "en")``: 0 for an unknown word, 7 for "the", 3 for a word seen once per
    million words."""
    table = _centibels() if _PLAIN.fullmatch(word) else None
    if table is None:
        from wordfreq import zipf_frequency as from_wordfreq

        return float(from_wordfreq(word, "en"))
    index = table.get(word)
    # wordfreq returns the minimum, unrounded, for a word it lacks
    freq = _MINIMUM if index is None else _rounded(1.0 / (1.0 / 10 ** (-index / 100)))
    return round(math.log(freq, 10) + 9, 2)
