"""JSON-lines log records for the server: one object per line, secrets never included.

Only the entry point installs it (`toolnav serve` does); library code just logs. A record's
``extra`` fields (``event``, ``tool``, ``outcome``, ``seconds``, ...) become keys; anything
named like a secret is dropped. The gateway logs a line per HTTP request and per tool call, so
formatting is kept cheap: the timestamp's seconds are formatted once per second, the secret
check once per field name, and one JSON encoder serves every line.

A tool call that came in an HTTP request is one line, not two: the HTTP access log
(`toolnav.server.http`) leaves an empty dict under `CALL_FIELDS` in the request's ASGI scope,
the gateway fills it (`note_call`) and the access line carries those fields; a call over stdio,
or a second call in one request, gets a line of its own.

Example:
    handler = logging.StreamHandler(); handler.setFormatter(JSONLinesFormatter())
    logging.getLogger("toolnav").addHandler(handler)
    if not note_call(ctx.request, fields): logger.info("tool call", extra=fields)
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["CALL_FIELDS", "JSONLinesFormatter", "note_call"]

# ASGI scope key of the dict a tool call's log fields go into (see the module docstring).
CALL_FIELDS = "toolnav.call_fields"

# Attributes every LogRecord has; the rest came in through `extra`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_KEY = re.compile(r"token|secret|password|authorization|cookie|api_?key|headers|env",
                         re.IGNORECASE)
_PLAIN = (str, int, float, bool, type(None))
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


class JSONLinesFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, extra fields."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""
        self._secret: dict[str, bool] = {}  # field name -> named like a secret

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S",
                                                              time.gmtime(second))
        data: dict[str, Any] = {
            "time": f"{self._stamp}.{int(record.msecs):03d}Z",  # UTC
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        secret = self._secret
        for key, value in vars(record).items():
            if key in _STANDARD:
                continue
            hidden = secret.get(key)
            if hidden is None:
                hidden = secret[key] = _SECRET_KEY.search(key) is not None
            if not hidden:
                data[key] = value if isinstance(value, _PLAIN) else str(value)
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return _ENCODE(data)


def note_call(request: Any, fields: Mapping[str, Any]) -> bool:
    """Hand a tool call's log *fields* to the access log line of the HTTP *request* (a Starlette
    request; anything else has no such line) that carried the call.

    Returns:
        False when that line cannot carry them (no HTTP request, no access log, already
        written, or holding another call's fields): the caller logs them itself.
    """
    scope = getattr(request, "scope", None)
    slot = scope.get(CALL_FIELDS) if isinstance(scope, Mapping) else None
    if not isinstance(slot, dict) or slot:
        return False
    slot.update(fields)
    return True
