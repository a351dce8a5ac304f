"""English word frequencies read from wordfreq's data file are wordfreq's own."""

from __future__ import annotations

import re

from wordfreq import get_frequency_list
from wordfreq import zipf_frequency as wordfreq_zipf

from assistant.answer.word_frequency import zipf_frequency
from assistant.config import PROJECT_ROOT


def test_the_same_frequencies_as_wordfreq() -> None:
    words = {
        w
        for path in (PROJECT_ROOT / "corpus").rglob("*.md")
        for w in re.findall(r"[a-z][a-z'’-]*[a-z]|[a-z]", path.read_text("utf-8").lower())
    }
    # across the whole range of frequencies, the rarest included
    words |= {w for bucket in get_frequency_list("en")[::25] for w in bucket[:40]}
    words |= {"the", "qwzxv", "don't", "well-known", "e-mail", "covid19", "naïve", "x"}
    differ = {w: (zipf_frequency(w), wordfreq_zipf(w, "en")) for w in words}
    differ = {w: pair for w, pair in differ.items() if pair[0] != pair[1]}
    assert len(words) > 2000
    assert differ == {}


def test_each_frequency_list_is_in_the_order_binary_search_needs() -> None:
    assert all(bucket == sorted(bucket) for bucket in get_frequency_list("en"))


def test_common_and_rare_words() -> None:
    assert zipf_frequency("the") > 7
    assert 0 < zipf_frequency("credentialing") < zipf_frequency("hospital") < zipf_frequency("house")
    assert zipf_frequency("qwzxv") == 0
