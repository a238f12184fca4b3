"""newsloom: open, self-hosted news intelligence.

Library first: the CLI, the REST API and the reader call these same functions.

    >>> from newsloom import open_store, ingest_paths, extract_file
    >>> store = open_store("news.db")
    >>> report = ingest_paths(["pages/"], store)
    >>> [hit.article.title for hit in store.search("rafah ceasefire")]
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import *  # noqa: F401,F403  (the exception tree is part of the public surface)
from .errors import __all__ as _error_names
# The one-document entry point is exported as extract_document: a name "extract" here would hide the subpackage
# (``import newsloom.extract.dates`` must keep working).
from .extract import extract as extract_document
from .extract import extract_file, extract_html, extract_text
from .model import Article, EntityMention, RawDocument, Teaser
from .pipeline import IngestReport, extract_paths, ingest_articles, ingest_paths
from .related import more_like_this, related_articles
from .search import parse_query
from .store import SQLiteStore, Store, open_store

__all__ = [
    "__version__",
    "Article",
    "EntityMention",
    "RawDocument",
    "Teaser",
    "extract_document",
    "extract_file",
    "extract_html",
    "extract_text",
    "extract_paths",
    "ingest_paths",
    "ingest_articles",
    "IngestReport",
    "more_like_this",
    "related_articles",
    "parse_query",
    "open_store",
    "Store",
    "SQLiteStore",
    *_error_names,
]
