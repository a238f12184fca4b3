"""Stores: where articles live. ``open_store`` picks the backend from a path or URL."""

from __future__ import annotations

from pathlib import Path

from .base import ArticleCount, SearchHit, Store, StoreStats, UpsertResult
from .sqlite import SQLiteStore

__all__ = ["Store", "SQLiteStore", "UpsertResult", "SearchHit", "ArticleCount", "StoreStats", "open_store"]


def open_store(location: str | Path) -> Store:
    """Open (and migrate) the store at ``location``: a SQLite file path or ":memory:"."""
    location = str(location)
    if location.startswith(("postgresql://", "postgres://")):
        from ..errors import StoreError

        raise StoreError("the PostgreSQL store is not available in this version; use a SQLite path")
    return SQLiteStore(location)
