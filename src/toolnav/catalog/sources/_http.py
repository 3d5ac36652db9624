"""Fetch a source document over HTTP(S), bounded in time and size, with errors a user can act on.

Only the download lives here; `toolnav.catalog.sources.load_source` decides what the text is.

Example:
    text = fetch_text("http://127.0.0.1:8000/openapi.json")
"""

from __future__ import annotations

from urllib.parse import urlsplit

from toolnav.errors import SourceError

__all__ = ["FETCH_TIMEOUT_SECONDS", "MAX_DOCUMENT_BYTES", "fetch_text", "is_url", "origin_of"]

FETCH_TIMEOUT_SECONDS = 30.0
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024


def is_url(spec: str) -> bool:
    """Whether *spec* names an HTTP(S) URL rather than a path."""
    return spec.lower().startswith(("http://", "https://"))


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of *url*."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def fetch_text(url: str, *, timeout_seconds: float = FETCH_TIMEOUT_SECONDS,
               max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """GET *url* and return its body as text.

    Args:
        url: an ``http://`` or ``https://`` URL.
        timeout_seconds: limit for connecting and for each read.
        max_bytes: the largest body accepted.

    Returns:
        The body, decoded as UTF-8.

    Raises:
        SourceError: the URL is malformed or unreachable, the server answers an HTTP error,
            is too slow, or sends more than *max_bytes* or text that is not UTF-8.
    """
    import httpx  # on first fetch: `toolnav tools` and file sources never pay for it

    chunks: list[bytes] = []
    size = 0
    try:
        # trust_env=False: a proxy set in the environment must not capture a loopback fetch.
        with httpx.Client(timeout=timeout_seconds, follow_redirects=True, trust_env=False) \
                as client, client.stream("GET", url,
                                         headers={"Accept": "application/json"}) as response:
            if response.status_code >= 400:
                raise SourceError(f"{url}: the server answered HTTP {response.status_code} "
                                  f"{response.reason_phrase}")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"{url}: the document is larger than {max_bytes:,} bytes; "
                                      "download it and add the file")
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise SourceError(f"{url}: no answer within {timeout_seconds:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise SourceError(f"{url}: cannot fetch it ({type(error).__name__}: {error})") from None
    try:
        return b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(f"{url}: the document is not UTF-8 text (invalid byte at offset "
                          f"{error.start})") from None
