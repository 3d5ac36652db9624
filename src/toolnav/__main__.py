"""`python -m toolnav` runs the CLI."""

from toolnav.cli import main

main()
