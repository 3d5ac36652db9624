"""Tools from Python callables: the signature gives the schema, the docstring the descriptions.

Type hints become JSON Schema through pydantic; parameter descriptions come from Google-style
``Args:`` sections or Sphinx ``:param x:`` lines. Each tool carries a python binding
(``{"kind": "python", "target": "module:qualname"}``, plus ``"positional": [names]`` for
positional-only parameters, which must be passed in order) that `resolve_target` turns back into
the callable, so `toolnav.execute` can run it. A callable's ``__toolnav_tags__`` tuple becomes the
tool's tags (``task:optional`` / ``task:required`` mark tools the MCP server runs as tasks).

Example:
    tools = tools_from_module("examples.python_tools")
    func = resolve_target(tools[0].binding["target"])
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from toolnav.errors import SourceError, ToolnavError
from toolnav.schema import json_value
from toolnav.tool import Tool

__all__ = ["resolve_target", "tool_from_callable", "tools_from_callables", "tools_from_module"]

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters|Params):\s*$")
_SECTION_HEADER = re.compile(r"^\s*[A-Z][A-Za-z ]+:\s*$")
_GOOGLE_PARAM = re.compile(r"^\s*\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[\w\[\], ]+\s+)?(\w+):\s*(.*)$")


def tool_from_callable(func: Callable[..., Any], *, source: str = "python", name: str | None = None
                       ) -> Tool:
    """Describe *func* as a Tool.

    Raises:
        SourceError: the callable has no inspectable signature or cannot be imported back by
            its qualified name.
    """
    label = getattr(func, "__qualname__", repr(func))
    try:
        try:  # resolve string annotations (`from __future__ import annotations`) to types
            signature = inspect.signature(func, eval_str=True)
        except (NameError, SyntaxError, AttributeError):
            signature = inspect.signature(func)
    except (TypeError, ValueError):
        raise SourceError(f"{label}: Python exposes no signature for it; wrap it in a "
                          "function with named parameters") from None
    doc = inspect.getdoc(func) or ""
    summary, param_docs = _parse_docstring(doc)
    properties: dict[str, Any] = {}
    required: list[str] = []
    positional: list[str] = []
    definitions: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            positional.append(parameter.name)
        schema = _annotation_schema(parameter.annotation, label, parameter.name)
        # pydantic puts a model's definitions beside each parameter; their refs ("#/$defs/X")
        # mean the tool's root once the parameter is nested in it, so hoist them there.
        definitions.update(schema.pop("$defs", {}))
        if parameter.name in param_docs:
            schema["description"] = param_docs[parameter.name]
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        elif _is_json_value(parameter.default):
            schema["default"] = parameter.default
        properties[parameter.name] = schema
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    if definitions:
        input_schema["$defs"] = definitions
    binding: dict[str, Any] = {"kind": "python", "target": _target_of(func)}
    if positional:
        binding["positional"] = positional
    return Tool(name=name or func.__name__, description=summary, input_schema=input_schema,
                source=source, binding=binding, tags=_tags_of(func))


def _tags_of(func: Callable[..., Any]) -> tuple[str, ...]:
    """The callable's ``__toolnav_tags__`` (e.g. ``("task:optional",)``), if it sets any."""
    tags = getattr(func, "__toolnav_tags__", ())
    if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
        raise SourceError(f"{getattr(func, '__qualname__', func)}: __toolnav_tags__ must be a "
                          f"tuple of strings, got {tags!r}")
    return tuple(tags)


def tools_from_callables(funcs: Iterable[Callable[..., Any]], *, source: str = "python"
                         ) -> list[Tool]:
    """Describe several callables; duplicate names are an error."""
    tools = [tool_from_callable(func, source=source) for func in funcs]
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise SourceError(f"two callables are both named {tool.name!r} in source {source!r}")
        seen.add(tool.name)
    return tools


def tools_from_module(spec: str, *, source: str | None = None, qualify: bool = False,
                      skip_unsupported: bool = False) -> list[Tool]:
    """Describe the public functions a module defines (``__all__`` if present).

    Args:
        spec: an importable module name (``pkg.mod``) or a path to a ``.py`` file.
        source: source label; defaults to the module name.
        qualify: name tools ``module.function`` instead of ``function``.
        skip_unsupported: leave out callables that cannot be described (no signature)
            instead of failing.

    Raises:
        SourceError: the module cannot be imported or defines no public functions.
    """
    module = _import_module(spec)
    names = getattr(module, "__all__", None) or [
        name for name, value in vars(module).items()
        if not name.startswith("_") and inspect.isroutine(value)
        and getattr(value, "__module__", None) == module.__name__
    ]
    label = source or module.__name__.rsplit(".", 1)[-1]
    tools = []
    for name in names:
        func = getattr(module, name, None)
        if not inspect.isroutine(func):
            continue
        try:
            tools.append(tool_from_callable(
                func, source=label, name=f"{module.__name__}.{name}" if qualify else name))
        except SourceError:
            if not skip_unsupported:
                raise
    if not tools:
        raise SourceError(f"{spec}: defines no public functions to offer as tools")
    return tools


def resolve_target(target: str) -> Callable[..., Any]:
    """Import the callable named by a python binding target (``module:qualname``).

    Raises:
        SourceError: the module or attribute does not exist, or is not callable.
    """
    module_spec, _, qualname = target.rpartition(":")
    if not module_spec or not qualname:
        raise SourceError(f"python target {target!r} must look like 'package.module:function'")
    value: Any = _import_module(module_spec)
    for part in qualname.split("."):
        if not hasattr(value, part):
            raise SourceError(f"python target {target!r}: {module_spec} has no {qualname!r}")
        value = getattr(value, part)
    if not callable(value):
        raise SourceError(f"python target {target!r} is not callable")
    return value


def _import_module(spec: str) -> Any:
    path = Path(spec)
    try:
        if path.suffix == ".py":
            if not path.is_file():
                raise SourceError(f"{spec}: no such Python file")
            name = f"toolnav_user_{path.stem}"
            module_spec = importlib.util.spec_from_file_location(name, path.resolve())
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
            return module
        return importlib.import_module(spec)
    except SourceError:
        raise
    except ImportError as error:
        raise SourceError(f"cannot import {spec!r}: {error}") from None
    except Exception as error:  # a user module that fails while importing
        raise SourceError(f"importing {spec!r} raised {type(error).__name__}: {error}") from None


def _target_of(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<locals>" in qualname:
        raise SourceError(f"{func!r} is not importable by name (define it at module level)")
    module_obj = sys.modules.get(module)
    file = getattr(module_obj, "__file__", None)
    if module.startswith("toolnav_user_") and file:
        return f"{file}:{qualname}"
    return f"{module}:{qualname}"


def _annotation_schema(annotation: Any, label: str, parameter: str) -> dict[str, Any]:
    if annotation is inspect.Parameter.empty:
        return {}
    # On first use: commands that read no Python source never pay for pydantic's import.
    from pydantic import TypeAdapter
    from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

    try:
        schema = TypeAdapter(annotation).json_schema()
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError):
        return {}
    schema.pop("title", None)
    return schema


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary paragraph and per-parameter descriptions of a docstring."""
    lines = doc.splitlines()
    summary_lines: list[str] = []
    for line in lines:
        if not line.strip() or _ARGS_HEADER.match(line) or _SPHINX_PARAM.match(line):
            break
        summary_lines.append(line.strip())
    params: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for line in lines:
        if sphinx := _SPHINX_PARAM.match(line):
            params[sphinx.group(1)] = sphinx.group(2).strip()
            current = None
            continue
        if _ARGS_HEADER.match(line):
            in_args, current = True, None
            continue
        if in_args and _SECTION_HEADER.match(line):
            in_args = False
        if not in_args:
            continue
        if (google := _GOOGLE_PARAM.match(line)) and line.startswith(" " * 4) and not (
                current and line.startswith(" " * 8)):
            current = google.group(1)
            params[current] = google.group(2).strip()
        elif current and line.strip():
            params[current] = f"{params[current]} {line.strip()}".strip()
    return " ".join(summary_lines), params


def _is_json_value(value: Any) -> bool:
    """Whether a default can go into the schema (NaN, sets, objects... are left out)."""
    try:
        json_value(value, "default")
    except ToolnavError:
        return False
    return True
