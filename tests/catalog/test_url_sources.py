"""`load_source` fetches http(s) URLs: a real loopback server, errors for every way it fails."""

from __future__ import annotations

import socket

import pytest

from tests.sources.services import load_shop_server
from toolnav.catalog.sources import load_source, source_name_for
from toolnav.catalog.sources._http import fetch_text
from toolnav.errors import SourceError

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def shop_url():
    server, url = load_shop_server().start(0)
    yield url
    server.shutdown()
    server.server_close()


def test_openapi_url_is_fetched_not_treated_as_a_path(shop_url):
    source = load_source(f"{shop_url}/openapi.json")
    assert {tool.name for tool in source.tools} == {"search_items", "get_item", "create_order"}
    assert {tool.binding["base_url"] for tool in source.tools} == {shop_url}
    assert source.name == "127.0.0.1"


def test_http_errors_are_source_errors(shop_url):
    with pytest.raises(SourceError, match="answered HTTP 404"):
        load_source(f"{shop_url}/nothing.json")
    with pytest.raises(SourceError, match="larger than 100 bytes"):
        fetch_text(f"{shop_url}/openapi.json", max_bytes=100)


def test_a_server_that_is_down_or_silent_is_a_source_error():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never answers
        port = silent.getsockname()[1]
        with pytest.raises(SourceError, match=r"no answer within 0.5 s"):
            fetch_text(f"http://127.0.0.1:{port}/openapi.json", timeout_seconds=0.5)
    with pytest.raises(SourceError, match="cannot fetch it"):
        load_source(f"http://127.0.0.1:{port}/openapi.json")


def test_url_source_names():
    assert source_name_for("http://127.0.0.1:8000/openapi.json") == "127.0.0.1"
    assert source_name_for("https://example.com/apis/weather/openapi.json") == "weather"
    assert source_name_for("https://example.com/shop.json") == "shop"
