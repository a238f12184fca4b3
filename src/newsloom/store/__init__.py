"""Stores: where articles live. ``open_store`` picks the backend from a path or URL."""

from __future__ import annotations

from pathlib import Path

from .base import ArticleCount, SearchHit, Store, StoreStats, UpsertResult
from .sqlite import SQLiteStore

__all__ = ["Store", "SQLiteStore", "UpsertResult", "SearchHit", "ArticleCount", "StoreStats", "open_store"]


def open_store(location: str | Path) -> Store:
    """Open (and migrate) the store at ``location``: a SQLite file path, ":memory:", or a postgresql:// URL."""
    location = str(location)
    if location.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(location)
    return SQLiteStore(location)
