"""JSON-lines log records for the server: one object per line, secrets never included.

Only the entry point installs it (`toolnav serve` does); library code just logs. A record's
``extra`` fields (``event``, ``tool``, ``outcome``, ``seconds``, ...) become keys; anything
named like a secret is dropped.

Example:
    handler = logging.StreamHandler(); handler.setFormatter(JSONLinesFormatter())
    logging.getLogger("toolnav").addHandler(handler)
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

__all__ = ["JSONLinesFormatter"]

# Attributes every LogRecord has; the rest came in through `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_KEY = re.compile(r"token|secret|password|authorization|cookie|api_?key|headers|env",
                         re.IGNORECASE)


class JSONLinesFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not _SECRET_KEY.search(key):
                data[key] = value if isinstance(value, str | int | float | bool | None) \
                    else str(value)
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)

    converter = time.gmtime  # the "Z" in the timestamps means UTC
