"""The toolnav exception tree.

Every error toolnav raises on purpose derives from `ToolnavError`, carries a message written for
the person (or model) who must act on it, and is shown without a traceback by the CLI.

    ToolnavError
    ├── ConfigError            a setting or parameter is out of range or inconsistent
    ├── CatalogError           the catalog cannot do what was asked
    │   ├── SourceError        a tool source cannot be read (bad JSON, encoding, duplicates, ...)
    │   ├── SchemaError        a tool's input schema is not a usable JSON Schema object
    │   ├── ToolNotFound       no tool has that name
    │   └── EmptyCatalog       a search or index on a catalog with no tools
    ├── EmbeddingError         the embedding model failed or was given unusable text
    ├── VectorIndexError       bad input to an index (dimension, NaN, duplicate ids, k > n, ...)
    │   └── IndexFormatError   an index directory is corrupted or from another version
    ├── ValidationFailed       call arguments do not match the tool's schema (lists each issue)
    ├── ToolExecutionError     the tool ran and failed, timed out or returned too much
    ├── LLMError               the LLM endpoint is missing, unreachable or answered badly
    ├── TaskError              a durable agent task cannot be submitted or changed as asked
    │   ├── TaskNotFound       no task has that id (never submitted, or purged)
    │   └── TaskFailed         the server could not carry a task out (with a JSON-RPC code)
    └── BackendUnavailable     an optional backend's dependency is not installed

Example:
    try: catalog.add_source("tools.json")
    except SourceError as error: print(error)   # names the file, line and column
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailable",
    "CatalogError",
    "ConfigError",
    "EmbeddingError",
    "EmptyCatalog",
    "IndexFormatError",
    "LLMError",
    "SchemaError",
    "SourceError",
    "TaskError",
    "TaskFailed",
    "TaskNotFound",
    "ToolExecutionError",
    "ToolNotFound",
    "ToolnavError",
    "ValidationFailed",
    "VectorIndexError",
]


class ToolnavError(Exception):
    """Root of every error toolnav raises on purpose; its message says what to fix."""


class ConfigError(ToolnavError, ValueError):
    """A setting or parameter is out of range or inconsistent."""


class CatalogError(ToolnavError):
    """The catalog cannot do what was asked."""


class SourceError(CatalogError, ValueError):
    """A tool source cannot be read: malformed JSON, bad encoding, missing fields, duplicates."""


class SchemaError(CatalogError, ValueError):
    """A tool's input schema is not a usable JSON Schema object."""


class ToolNotFound(CatalogError, KeyError):
    """No tool in the catalog has the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "tool not found"


class EmptyCatalog(CatalogError):
    """A search or index operation on a catalog that holds no tools."""


class EmbeddingError(ToolnavError):
    """The embedding model could not be loaded or could not embed the given text."""


class VectorIndexError(ToolnavError, ValueError):
    """Bad input to a vector index: dimension mismatch, NaN/inf, duplicate ids, k > n, ..."""


class IndexFormatError(VectorIndexError):
    """An index directory is corrupted, incomplete or written by an incompatible version."""


class ValidationFailed(ToolnavError, ValueError):
    """Call arguments do not match the tool's input schema.

    Attributes:
        tool: the tool name.
        issues: one entry per failing parameter, each a dict with ``path``, ``problem``,
            ``expected`` and ``given`` keys, suitable for a model to repair the call.
    """

    def __init__(self, message: str, *, tool: str = "", issues: list[dict] | None = None):
        super().__init__(message)
        self.tool = tool
        self.issues = issues or []


class ToolExecutionError(ToolnavError):
    """The tool was called and failed, timed out, or returned more than the size limit."""


class LLMError(ToolnavError):
    """The LLM endpoint is not configured, unreachable, or returned an unusable answer."""


class TaskError(ToolnavError, ValueError):
    """A task cannot be submitted or changed as asked: unknown agent, bad text, finished."""


class TaskNotFound(TaskError, KeyError):
    """No task has the given id: it was never submitted, or it was purged after its TTL."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "task not found"


class TaskFailed(TaskError):
    """A task could not be carried out by the server (not the tool's own error): its tool is
    gone, cannot be executed, or was refused. ``code`` is the JSON-RPC error code MCP clients
    see on the failed task (the Tasks extension's ``error``)."""

    def __init__(self, message: str, code: int = -32603) -> None:
        super().__init__(message)
        self.code = code


class BackendUnavailable(ToolnavError, ImportError):
    """An optional backend's dependency is missing; the message names the install command."""
