"""``python -m newsloom`` runs the CLI."""

from .cli import main

main()
