"""JSONL traces of agent runs: one JSON object per event, stamped with time and run id.

Writing a trace never fails a run: text the file cannot hold (lone surrogates from a model or
a tool) is escaped, and values JSON cannot express are stringified.

Example:
    tracer = Tracer.create(home / "traces"); tracer.event("request", request="add 2 and 3")
    Tracer.resume(tracer.path).event("outcome", status="answered")
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Tracer"]


class Tracer:
    """Appends events to one trace file; ``path`` None records nothing."""

    def __init__(self, path: Path | None, run_id: str) -> None:
        self.path = path
        self.run_id = run_id

    @classmethod
    def create(cls, trace_dir: Path | None) -> Tracer:
        """A new trace file under *trace_dir* (None: a tracer that writes nothing)."""
        run_id = uuid.uuid4().hex[:12]
        if trace_dir is None:
            return cls(None, run_id)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        trace_dir.mkdir(parents=True, exist_ok=True)
        return cls(trace_dir / f"{stamp}-{run_id}.jsonl", run_id)

    @classmethod
    def resume(cls, path: str | Path | None) -> Tracer:
        """The tracer of an existing trace file (its run id is the file name's last part)."""
        if path is None:
            return cls(None, "")
        path = Path(path)
        return cls(path, path.stem.rsplit("-", 1)[-1])

    def event(self, kind: str, **data: Any) -> None:
        """Record one event; values JSON cannot express are stringified."""
        if self.path is None:
            return
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  "run": self.run_id, "event": kind, **data}
        line = json.dumps(record, ensure_ascii=False, default=str)
        # A lone surrogate cannot be encoded as UTF-8: write it as its \\u escape instead.
        encoded = line.encode("utf-8", errors="backslashreplace")
        with self.path.open("ab") as file:
            file.write(encoded + b"\n")
