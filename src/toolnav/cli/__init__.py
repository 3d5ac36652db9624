"""The `toolnav` command line: one module per command group, one entry point."""

from toolnav.cli.app import app, main

__all__ = ["app", "main"]
