"""How common a word is in English: wordfreq's Zipf frequency, read straight from wordfreq's own data file.

Every question weighs its words by this, so a fresh process (``cmo-assistant ask``) needs it for its one answer.
Importing wordfreq (with langcodes, ftfy and regex) and building its dictionary costs about 0.3 s of CPU, a fifth
of a cold answer. A word of plain letters is a single token to wordfreq, so its frequency is read here from the
same file (gzipped msgpack: a header, then one alphabetical list of words per centibel of frequency) with
wordfreq's own arithmetic; any other word (apostrophes, hyphens, digits) is handed to wordfreq itself. A test
holds the two to the same values.
"""

from __future__ import annotations

import bisect
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
def _buckets() -> list[list[str]] | None:
    """wordfreq's large English list: the words of each centibel of frequency (the n-th list: -n cB), each list
    in alphabetical order; None when the file is not there or not in that format."""
    spec = importlib.util.find_spec("wordfreq")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "large_en.msgpack.gz"
    try:
        import msgpack  # type: ignore[import-untyped]

        # One read and one decompression: msgpack reading a gzip stream asks it for small pieces (7x slower).
        data = msgpack.unpackb(gzip.decompress(path.read_bytes()), raw=False)
    except (OSError, ValueError, EOFError, ImportError):
        return None
    header = data[0] if data else None
    if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
        return None
    return list(data[1:])


def _centibels(word: str, buckets: list[list[str]]) -> int | None:
    """Minus the word's frequency in centibels, or None when the list lacks it. A binary search in each list:
    building a dictionary of all 321,000 words would cost more than the few words a question looks up."""
    for index, bucket in enumerate(buckets):
        at = bisect.bisect_left(bucket, word)
        if at < len(bucket) and bucket[at] == word:
            return index
    return None


def _rounded(freq: float) -> float:
    """wordfreq's last step: at least the minimum, three significant digits."""
    unrounded = max(freq, _MINIMUM)
    leading_zeroes = math.floor(-math.log(unrounded, 10))
    return round(unrounded, leading_zeroes + 3)


@lru_cache(maxsize=20_000)
def zipf_frequency(word: str) -> float:
    """``wordfreq.zipf_frequency(word, "en")``: 0 for an unknown word, 7 for "the", 3 for a word seen once per
    million words."""
    buckets = _buckets() if _PLAIN.fullmatch(word) else None
    if buckets is None:
        from wordfreq import zipf_frequency as from_wordfreq

        return float(from_wordfreq(word, "en"))
    index = _centibels(word, buckets)
    # wordfreq returns the minimum, unrounded, for a word it lacks
    freq = _MINIMUM if index is None else _rounded(1.0 / (1.0 / 10 ** (-index / 100)))
    return round(math.log(freq, 10) + 9, 2)


@lru_cache(maxsize=20_000)
def specificity(word: str) -> float:
    """How specific a word is in general English: 0 for the commonest words, up to 6.5 for rare ones (Zipf
    frequency from ``wordfreq``: 7 is "the", 3 a word seen once per million words)."""
    return max(0.0, min(6.5, 6.5 - zipf_frequency(word)))
