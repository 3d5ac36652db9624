"""Where tools come from: one `load_source` call recognises the kind of source and parses it.

Recognised: ``python:pkg.module`` or a ``.py`` file (public functions), a ``.jsonl`` file (one
tool per line), a ``.json`` file (OpenAI tools, an OpenAPI 3 document, or an ``mcpServers``
configuration), a directory holding ``tools.jsonl`` (the evaluation-data format), and an
``http(s)://`` URL serving a JSON document (fetched by `toolnav.catalog.sources._http`; an
OpenAPI document without an absolute ``servers`` URL is taken to be served where it was found).
`read_source` reads without parsing: the text's digest lets a catalog skip an unchanged source.

Example:
    source = load_source("examples/weather_tools.json")
    print(source.name, len(source.tools))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from toolnav.catalog.sources._http import fetch_text, is_url, origin_of
from toolnav.catalog.sources.openai_json import (
    parse_json,
    read_text,
    tools_from_data,
    tools_from_jsonl,
)
from toolnav.catalog.sources.python import tools_from_module
from toolnav.errors import SourceError
from toolnav.progress import Progress, no_progress
from toolnav.tool import Tool

__all__ = ["LoadedSource", "SourceText", "load_source", "read_source", "source_name_for"]

PYTHON_PREFIX = "python:"
# Part of every source digest: raise it when parsing the same text starts to yield other tools,
# so catalogs parse their unchanged sources again instead of keeping the old tools.
PARSER_VERSION = "1"
_BASE_URL_MISUSE = "{spec}: --base-url applies to OpenAPI documents only"
_GENERIC_STEMS = {"tools", "functions", "catalog", "openapi", "spec", "mcp"}


@dataclass(frozen=True)
class LoadedSource:
    """The tools of one source, the label they are filed under, and the downstream MCP server
    configurations the source defines (by server name; tools name their server, the secrets in
    these configurations are stored once and never copied into a tool)."""

    name: str
    tools: list[Tool]
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceText:
    """A source read but not parsed: its label, where it is, what kind it is and its text
    (``None`` for Python modules, whose tools follow from code the text does not show).

    Example:
        text = read_source("tools.jsonl"); digest = text.digest; source = text.parse()
    """

    name: str
    where: str
    kind: str  # "jsonl", "json" or "python"
    text: str | None = None
    base_url: str | None = None
    served_at: str | None = None

    @property
    def digest(self) -> str | None:
        """SHA-256 over everything the tools are parsed from (parser version, kind, label,
        base URL and text): an equal digest means parsing again yields the same tools.
        ``None`` for Python modules."""
        if self.text is None:
            return None
        digest = hashlib.sha256()
        for part in (PARSER_VERSION, _package_version(), self.kind, self.name,
                     self.base_url or "", self.served_at or ""):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(self.text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def parse(self, progress: Progress = no_progress) -> LoadedSource:
        """The source's tools (and, for an ``mcpServers`` configuration, its servers' tools,
        listed by starting or connecting to each server). *progress* hears how many tools of
        a tools file are built.

        Raises:
            SourceError: the source is malformed.
            SchemaError: a tool's schema is invalid.
        """
        if self.text is None:
            return LoadedSource(self.name, tools_from_module(self.where, source=self.name))
        if self.kind == "jsonl":
            if self.base_url:
                raise SourceError(_BASE_URL_MISUSE.format(spec=self.where))
            return LoadedSource(self.name, tools_from_jsonl(self.text, source=self.name,
                                                            where=self.where, progress=progress))
        return _load_json_document(self.text, self.where, self.name, self.base_url,
                                   served_at=self.served_at, progress=progress)


def load_source(spec: str | Path, *, name: str | None = None, base_url: str | None = None
                ) -> LoadedSource:
    """Parse a source into tools, without touching any catalog (`read_source`, then `parse`).

    Args:
        spec: a path, an ``http(s)://`` URL or ``python:module`` (see the module docstring).
        name: the source label; defaults to `source_name_for(spec)`.
        base_url: for an OpenAPI document, where the API is served (overrides ``servers``).

    Raises:
        SourceError: the source does not exist, is of an unknown kind, or is malformed.
        SchemaError: a tool's schema is invalid.
    """
    return read_source(spec, name=name, base_url=base_url).parse()


def read_source(spec: str | Path, *, name: str | None = None, base_url: str | None = None
                ) -> SourceText:
    """Read (or fetch) a source without parsing it; arguments as for `load_source`.

    Raises:
        SourceError: the source does not exist, cannot be read, or is of an unknown kind.
    """
    label = name or source_name_for(spec)
    text_spec = str(spec)
    if isinstance(spec, str) and is_url(spec):
        kind = "jsonl" if urlsplit(spec).path.lower().endswith(".jsonl") else "json"
        return SourceText(label, spec, kind, fetch_text(spec), base_url,
                          served_at=origin_of(spec))
    if base_url and Path(text_spec).suffix.lower() != ".json":
        raise SourceError(_BASE_URL_MISUSE.format(spec=spec))
    if text_spec.startswith(PYTHON_PREFIX):
        return SourceText(label, text_spec[len(PYTHON_PREFIX):], "python")
    path = Path(spec)
    if path.is_dir():
        path = path / "tools.jsonl"
        if not path.is_file():
            raise SourceError(f"{spec}: a directory source must contain tools.jsonl")
    if path.suffix == ".py":
        return SourceText(label, str(path), "python")
    if path.suffix.lower() == ".jsonl":
        return SourceText(label, str(path), "jsonl", read_text(path))
    if path.suffix.lower() != ".json":
        if not path.exists():
            raise SourceError(f"{spec}: no such file or directory")
        raise SourceError(f"{spec}: unknown source kind; use a .json/.jsonl file, a .py file, "
                          "a dataset directory, or python:package.module")
    return SourceText(label, str(path), "json", read_text(path), base_url)


def source_name_for(spec: str | Path) -> str:
    """Default label: the module name, or the file stem (its folder's name if generic).

    For a URL: the last path segment's stem, the segment before it if generic, else the host.
    """
    text_spec = str(spec)
    if text_spec.startswith(PYTHON_PREFIX):
        return text_spec[len(PYTHON_PREFIX):].rsplit(".", 1)[-1]
    if isinstance(spec, str) and is_url(spec):
        parts = urlsplit(spec)
        stems = [PurePosixPath(part).stem for part in parts.path.split("/") if part]
        named = [stem for stem in stems if stem.lower() not in _GENERIC_STEMS]
        return named[-1] if named else (parts.hostname or "web")
    path = Path(spec).resolve()
    if path.is_dir():
        return path.name
    return path.parent.name if path.stem.lower() in _GENERIC_STEMS else path.stem


def _load_json_document(text: str, where: str, label: str, base_url: str | None, *,
                        served_at: str | None = None, progress: Progress = no_progress
                        ) -> LoadedSource:
    data = parse_json(text, where)
    if isinstance(data, dict) and "openapi" in data:
        from toolnav.catalog.sources.openapi import tools_from_openapi

        return LoadedSource(label, tools_from_openapi(data, source=label, base_url=base_url,
                                                      where=where, served_at=served_at))
    if base_url:
        raise SourceError(_BASE_URL_MISUSE.format(spec=where))
    if isinstance(data, dict) and "mcpServers" in data:
        from toolnav.catalog.sources.mcp import tools_from_mcp_config

        tools, servers = tools_from_mcp_config(data, source=label)
        return LoadedSource(label, tools, servers)
    return LoadedSource(label, tools_from_data(data, source=label, where=where,
                                               progress=progress))


@cache
def _package_version() -> str:
    try:
        return version("toolnav")
    except PackageNotFoundError:  # a source tree without an install
        return "unknown"
