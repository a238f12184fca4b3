"""Shared test fixtures: paths to the repo's and the shared data, a fresh SQLite store, small real articles.

Keep this file small and generic; fixtures used by one test file belong in that file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsloom.model import Article
from newsloom.sources.files import article_from_record
from newsloom.store import SQLiteStore, Store, open_store

# Ingests in tests do not compute article vectors even where the semantic extra is installed (a model load and ~10
# articles/s on 2 cores would slow every ingest test); tests/test_semantic.py turns them on where it means to.
os.environ.setdefault("NEWSLOOM_EMBEDDINGS", "0")

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = TESTS_DIR / "fixtures"
REPO_ROOT = TESTS_DIR.parent
# ../shared/data next to the repository: evaluation data that is not shipped with newsloom.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data_dir() -> Path:
    """../shared/data, or a skip with the reason when it is not there (e.g. on a user's machine)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A fresh, migrated SQLite store in a temporary file, closed after the test."""
    store = SQLiteStore(tmp_path / "newsloom.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def postgres_dsn() -> Iterator[str]:
    """A real PostgreSQL server for the module's tests (tests/postgres_server.py starts it)."""
    from .postgres_server import postgres_server

    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite-file", "sqlite-memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store backend in turn: a SQLite file, SQLite in memory, and a fresh PostgreSQL database."""
    if request.param == "postgres":
        from .postgres_server import fresh_database

        location = fresh_database(request.getfixturevalue("postgres_dsn"))
    else:
        location = tmp_path / "store.db" if request.param == "sqlite-file" else ":memory:"
    store = open_store(location)
    yield store
    store.close()


def load_sample_news() -> list[Article]:
    """12 real ECB+ reports on 3 events (tests/fixtures/news/SOURCE.txt), as the JSONL importer reads them."""
    path = FIXTURES_DIR / "news" / "ecbplus-sample.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        article_from_record({"url": r["url"], "title": r["title"], "text": r["text"]}, f"{path.name}:{n}")
        for n, r in enumerate(records, start=1)
    ]


@pytest.fixture
def sample_news() -> list[Article]:
    return load_sample_news()


def find_flattened_news_page() -> Path | None:
    """The fixture page (a flattened news page with ad and teaser furniture): the repo copy, else the shared one."""
    for candidate in (FIXTURES_DIR / "text" / "flattened-news-page.txt",
                      REPO_ROOT.parent / "shared" / "fixtures" / "flattened-news-page.txt"):
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture
def flattened_news_page() -> Path:
    path = find_flattened_news_page()
    if path is None:
        pytest.skip("fixture page flattened-news-page.txt not found in tests/fixtures/text/ or ../shared/fixtures/")
    try:
        import newsloom.extract.text  # noqa: F401  (flattened pages are read by extract/text.py)
    except ImportError as exc:
        pytest.skip(f"flattened-text extraction is not available yet: {exc}")
    return path
