"""The demo catalog: real Python standard-library functions as tools, and requests to route.

Used by `toolnav demo`; needs no data files and no network, so it works from an installed wheel
(the catalog is the interpreter's own standard library).

Example:
    for source in demo_sources(): catalog.add_tools(source.tools, source=source.name)
"""

from __future__ import annotations

from toolnav.catalog.sources import LoadedSource
from toolnav.catalog.sources.python import tools_from_module

__all__ = ["DEMO_MODULES", "DEMO_REQUESTS", "demo_sources"]

DEMO_MODULES = (
    "base64", "binascii", "calendar", "colorsys", "difflib", "fnmatch", "glob", "gzip", "hashlib",
    "heapq", "html", "ipaddress", "json", "math", "os.path", "random", "re", "secrets", "shlex",
    "shutil", "statistics", "string", "textwrap", "unicodedata", "urllib.parse", "uuid", "zlib",
)

DEMO_REQUESTS = (
    "what is the square root of 1764",
    "split a URL into scheme, host, path and query",
    "find the words in a list that are closest to a misspelled word",
    "wrap a long paragraph so no line is longer than 40 characters",
    "compute the median of a list of measurements",
    "make a random token that is safe to put in a URL",
    "copy a whole directory tree to another place",
    "how many days does February 2028 have",
)

def demo_sources() -> list[LoadedSource]:
    """The standard-library modules as tool sources."""
    return [LoadedSource(module, tools_from_module(module, qualify=True, skip_unsupported=True))
            for module in DEMO_MODULES]
