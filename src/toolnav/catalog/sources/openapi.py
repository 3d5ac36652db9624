"""Tools from an OpenAPI 3 document: one tool per operation, bound to an HTTP call.

Path, query and header parameters and the properties of a JSON request body are merged into
one object schema; the binding records where each argument goes (``locations``) so
`toolnav.execute` can rebuild the request. A body that is not an object becomes one ``body``
argument. Local ``$ref``s (``#/components/...``) are inlined by `toolnav.schema.resolve_refs`
(a recursive schema keeps its first levels and its cycle is cut); the base URL is the first
``servers`` entry unless ``base_url`` is given (a relative ``servers`` URL is appended to it).
Errors name the document and the operation.

Example:
    tools = tools_from_openapi(json.loads(Path("openapi.json").read_text()), source="shop")
    tools[0].binding   # {"kind": "http", "method": "GET", "path": "/items/{item_id}", ...}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from toolnav.errors import SchemaError, SourceError
from toolnav.schema import json_value, resolve_refs
from toolnav.tool import Tool

__all__ = ["tools_from_openapi"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_LOCATIONS = {"path": "path", "query": "query", "header": "header"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def tools_from_openapi(data: Mapping[str, Any], *, source: str = "openapi",
                       base_url: str | None = None, where: str = "OpenAPI document",
                       served_at: str | None = None) -> list[Tool]:
    """One tool per operation of an OpenAPI 3 document.

    Args:
        data: the parsed document.
        source: the source label (also the tools' group).
        base_url: where the API is served, overriding the first ``servers`` URL; a relative
            ``servers`` URL (``/v1``) is appended to it.
        where: the document's file or URL, for messages.
        served_at: the origin the document was fetched from; used like *base_url* when the
            document has no absolute ``servers`` URL.

    Returns:
        The tools, in path and method order.

    Raises:
        SourceError: not OpenAPI 3, no paths, an unresolvable ``$ref``, or no base URL.
        SchemaError: an operation's arguments do not make a usable schema.
    """
    if not isinstance(data, Mapping):
        raise SourceError(f"{where}: an OpenAPI document is a JSON object")
    data = json_value(data, where, SourceError)
    version = str(data.get("openapi", ""))
    if not version.startswith("3."):
        raise SourceError(f"{where}: OpenAPI document version {version!r}: only OpenAPI 3.x is "
                          "supported")
    paths = data.get("paths")
    if not isinstance(paths, Mapping) or not paths:
        raise SourceError(f"{where}: the OpenAPI document has no 'paths'")
    base_url = _base_url(data, base_url, served_at, where)
    info = data.get("info")
    api = str((info if isinstance(info, Mapping) else {}).get("title") or source)
    tools = []
    for path, item in paths.items():
        try:
            item = _resolve(data, item)
        except SourceError as error:
            raise SourceError(f"{where}: path {path}: {error}") from None
        if not isinstance(item, Mapping):
            raise SourceError(f"{where}: path {path}: a path item must be a JSON object")
        for method in METHODS:
            if method not in item:
                continue
            try:
                tools.append(_operation_tool(data, path, method, _resolve(data, item[method]),
                                             item.get("parameters") or [], base_url, source,
                                             api))
            except (SourceError, SchemaError) as error:
                raise type(error)(f"{where}: operation {method.upper()} {path}: {error}"
                                  ) from None
    return tools


def _base_url(data: Mapping[str, Any], override: str | None, served_at: str | None,
              where: str) -> str:
    servers = data.get("servers") or []
    first = servers[0] if isinstance(servers, list) and servers else None
    declared = str(first.get("url", "")) if isinstance(first, Mapping) else ""
    if not override and served_at and not declared.startswith(("http://", "https://")):
        override = served_at
    if override:
        relative = declared if declared.startswith("/") else ""
        return override.rstrip("/") + relative.rstrip("/")
    if not declared.startswith(("http://", "https://")):
        raise SourceError(f"{where}: the OpenAPI document has no absolute 'servers' URL (got "
                          f"{declared!r}); add \"servers\": [{{\"url\": \"http://host:port\"}}] "
                          "or pass base_url")
    return declared


def _operation_tool(data: Mapping[str, Any], path: str, method: str,
                    operation: Mapping[str, Any], shared: list[Any], base_url: str,
                    source: str, api: str) -> Tool:
    properties: dict[str, Any] = {}
    required: list[str] = []
    locations: dict[str, str] = {}
    if not isinstance(operation, Mapping):
        raise SourceError("an operation must be a JSON object")
    listed = [*_list(shared), *_list(operation.get("parameters"))]
    declared = [_resolve(data, ref) for ref in listed]
    if not all(isinstance(p, Mapping) and isinstance(p.get("name"), str) for p in declared):
        raise SourceError("every parameter needs a 'name' and an 'in'")
    parameters = {(p.get("in"), p["name"]): p for p in declared}
    for (where, name), parameter in parameters.items():
        if where not in _LOCATIONS:
            continue  # cookie parameters are not supported
        schema = _inline(data, parameter.get("schema") or {"type": "string"},
                         f"parameter {name!r}")
        schema = dict(schema) if isinstance(schema, Mapping) else {}
        if parameter.get("description"):
            schema["description"] = parameter["description"]
        properties[name] = schema
        locations[name] = _LOCATIONS[where]
        if parameter.get("required") or where == "path":
            required.append(name)
    body = _json_body(data, operation)
    if body is not None:
        body_schema, body_required = body
        if body_schema.get("type") == "object" and isinstance(body_schema.get("properties"),
                                                             Mapping):
            for name, schema in body_schema["properties"].items():
                properties[name] = schema
                locations[name] = "body"
            required += [name for name in body_schema.get("required") or [] if name in properties]
        else:
            properties["body"] = body_schema
            locations["body"] = "body_whole"
            if body_required:
                required.append("body")
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(dict.fromkeys(required))
    name = operation.get("operationId")
    if not isinstance(name, str) or not _UNSAFE.sub("", name):
        name = f"{method}_{path}"
    description = operation.get("summary") or operation.get("description") or ""
    if operation.get("summary") and operation.get("description"):
        description = f"{operation['summary']}. {operation['description']}"
    return Tool(name=_UNSAFE.sub("_", name).strip("_"), description=description,
                input_schema=schema, source=source, group=api,
                tags=tuple(operation.get("tags") or ()),
                binding={"kind": "http", "method": method.upper(), "base_url": base_url,
                         "path": path, "locations": locations})


def _json_body(data: Mapping[str, Any], operation: Mapping[str, Any]
               ) -> tuple[dict[str, Any], bool] | None:
    body = _resolve(data, operation.get("requestBody") or {})
    content = body.get("content") if isinstance(body, Mapping) else None
    media = next((value for key, value in content.items() if "json" in key), None) \
        if isinstance(content, Mapping) else None
    if not isinstance(media, Mapping):
        return None
    schema = _inline(data, media.get("schema") or {}, "request body")
    return (dict(schema) if isinstance(schema, Mapping) else {}), bool(body.get("required"))


def _inline(data: Mapping[str, Any], schema: Any, what: str) -> Any:
    """*schema* with its ``$ref``s into the document inlined (cycles cut)."""
    return resolve_refs(schema, f"{what} schema", document=data)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _resolve(data: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """Follow a local ``$ref`` (recursively, bounded) to the node it names."""
    if not isinstance(node, Mapping) or "$ref" not in node:
        return node
    ref = node["$ref"]
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > 20:
        raise SourceError(f"OpenAPI $ref {ref!r} is not a resolvable local reference")
    target: Any = data
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise SourceError(f"OpenAPI $ref {ref!r} points to nothing")
        target = target[part]
    return _resolve(data, target, depth + 1)
