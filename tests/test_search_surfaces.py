"""The query language through every surface: the JSON API, the reader's search page (with facets) and the CLI all
call the same store.search, so filters, sort and errors behave the same everywhere."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx in its test client
    from fastapi.testclient import TestClient

from newsloom.cli import main
from newsloom.model import Article, EntityMention, article_id_for
from newsloom.store import SQLiteStore
from newsloom.web import create_app

DAY = datetime(2024, 3, 10, tzinfo=timezone.utc)
NETANYAHU = EntityMention("Benjamin Netanyahu", "PERSON", 2)


def _article(n: int, site: str, language: str, days: int, text: str, entities=()) -> Article:
    url = f"https://{site}/news/{n}"
    return Article(id=article_id_for(url, text), title=f"Report {n}", paragraphs=[text], url=url, canonical_url=url,
                   site=site, language=language, published_at=DAY + timedelta(days=days), published_at_source="meta",
                   entities=list(entities))


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "search.db"
    store = SQLiteStore(path)
    store.upsert_articles([
        _article(1, "bbc.co.uk", "en", 0, "Ceasefire talks in Cairo resume.", [NETANYAHU]),
        _article(2, "news.bbc.co.uk", "en", 5, "Ceasefire talks stall in Cairo."),
        _article(3, "lemonde.fr", "fr", 25, "Ceasefire: talks move to Doha.", [NETANYAHU]),
        _article(4, "x.com", "en", 30, "Football results."),
    ])
    store.close()
    return path


@pytest.fixture
def client(db_path):
    store = SQLiteStore(db_path)
    yield TestClient(create_app(store))
    store.close()


def _titles(hits) -> list[str]:
    return [hit["article"]["title"] for hit in hits]


def test_api_search_honours_filters_and_sort(client):
    by_date = client.get("/api/search", params={"q": "ceasefire sort:date"}).json()
    assert _titles(by_date["hits"]) == ["Report 3", "Report 2", "Report 1"]
    narrowed = client.get("/api/search", params={"q": 'ceasefire entity:"Benjamin Netanyahu" site:bbc.co.uk'}).json()
    assert _titles(narrowed["hits"]) == ["Report 1"]
    assert _titles(client.get("/api/search", params={"q": "site:x.com"}).json()["hits"]) == ["Report 4"]
    dated = client.get("/api/search", params={"q": "lang:en after:2024-03-11 before:2024-04-30"}).json()
    assert _titles(dated["hits"]) == ["Report 4", "Report 2"]  # no words: newest first


def test_api_malformed_filter_is_a_400_with_the_position(client):
    response = client.get("/api/search", params={"q": "ceasefire after:2024-02-31"})
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and "position 11" in body["error"] and "YYYY-MM-DD" in body["error"]
    assert client.get("/api/search/facets", params={"q": "wat:ever"}).status_code == 400


def test_api_facets(client):
    facets = client.get("/api/search/facets", params={"q": "ceasefire"}).json()
    assert {(f["value"], f["count"]) for f in facets["sites"]} == {
        ("bbc.co.uk", 1), ("news.bbc.co.uk", 1), ("lemonde.fr", 1)}
    assert facets["languages"] == [{"value": "en", "count": 2}, {"value": "fr", "count": 1}]
    assert facets["entities"] == [{"name": "Benjamin Netanyahu", "type": "PERSON", "articles": 2}]
    assert facets["months"] == [{"value": "2024-04", "count": 1}, {"value": "2024-03", "count": 2}]


def test_reader_search_page_filters_and_links_facets(client):
    page = client.get("/search", params={"q": "ceasefire lang:en"})
    assert page.status_code == 200
    assert "Report 1" in page.text and "Report 2" in page.text and "Report 3" not in page.text
    assert 'aria-label="Narrow the search"' in page.text
    # Each facet value narrows the current query by its filter (percent-encoded in the link).
    assert "q=ceasefire+lang%3Aen+site%3Abbc.co.uk" in page.text
    assert "q=ceasefire+lang%3Aen+entity%3A%22Benjamin+Netanyahu%22" in page.text
    assert "q=ceasefire+lang%3Aen+after%3A2024-03-01+before%3A2024-04-01" in page.text
    assert "<strong>en</strong>" in page.text  # the language already chosen is shown, not linked again
    narrowed = client.get("/search", params={"q": "ceasefire lang:en after:2024-03-01 before:2024-04-01"})
    assert "Report 1" in narrowed.text and "Report 3" not in narrowed.text


def test_reader_search_page_explains_a_malformed_query(client):
    page = client.get("/search", params={"q": "ceasefire colour:red"})
    assert page.status_code == 400
    assert "unknown field colour: at position 11" in page.text


def test_cli_search_with_filters(db_path):
    runner = CliRunner()
    result = runner.invoke(main, ["--db", str(db_path), "search", "ceasefire sort:date", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == ["Report 3", "Report 2", "Report 1"]
    only = runner.invoke(main, ["--db", str(db_path), "search", 'entity:"Benjamin Netanyahu" lang:fr', "--format", "jsonl"])
    assert [json.loads(line)["site"] for line in only.stdout.splitlines()] == ["lemonde.fr"]
    bad = runner.invoke(main, ["--db", str(db_path), "search", "site:"])
    assert bad.exit_code == 2
    assert "site: at position 1 has no value" in bad.output
