"""Tools for task tests: a counting tool with side effects, keyed by the idempotency key.

`record_call` appends every attempt to ``attempts.log`` and its effect, once per key, to
``effects.log`` in the folder named by ``TOOLNAV_TEST_COUNT_DIR`` (set by the test), then
waits ``TOOLNAV_TEST_TOOL_SECONDS`` (default 0) before returning, so that a worker killed at a
random moment is often caught after the effect but before its step was checkpointed.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

__all__ = ["add_numbers", "record_call"]


def add_numbers(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first integer.
        b: the second integer.
    """
    return a + b


def record_call(label: str, idempotency_key: str = "") -> str:
    """Record a label in the ledger (a side effect that must happen once per call).

    Args:
        label: what to record.
        idempotency_key: the caller's key for this call; a repeated key is not recorded twice.
    """
    folder = Path(os.environ["TOOLNAV_TEST_COUNT_DIR"])
    with (folder / "ledger.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with (folder / "attempts.log").open("a") as attempts:
            attempts.write(f"{idempotency_key}\t{label}\n")
        effects = folder / "effects.log"
        done = effects.read_text().splitlines() if effects.exists() else []
        if any(line.split("\t")[0] == idempotency_key for line in done):
            return f"already recorded {label}"
        with effects.open("a") as file:
            file.write(f"{idempotency_key}\t{label}\n")
            file.flush()
            os.fsync(file.fileno())
    time.sleep(float(os.environ.get("TOOLNAV_TEST_TOOL_SECONDS", "0")))
    return f"recorded {label}"
