"""The `toolnav` command line: one module per command group, one entry point."""

from toolnav.cli import serve as _serve  # registers `serve` and `status` on the app
from toolnav.cli.app import app, main

__all__ = ["app", "main"]
del _serve
