"""The web reader, Atom feeds and JSON API: ``create_app(store)`` gives the FastAPI application."""

from .app import create_app

__all__ = ["create_app"]
