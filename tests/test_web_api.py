"""The JSON API under /api/ through FastAPI's TestClient on a real SQLite store of 12 real ECB+ reports.

Pins the one error shape, {"ok": false, "error": "<message>", "status": <code>}, for every kind of error.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timezone

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2 in its test client
    from fastapi.testclient import TestClient

from newsloom.model import Article
from newsloom.store.sqlite import MATCH_END, MATCH_START, SQLiteStore
from newsloom.web import create_app

ERROR_KEYS = {"ok", "error", "status"}


@pytest.fixture
def store(sqlite_store, sample_news):
    sqlite_store.upsert_articles(sample_news)
    return sqlite_store


@pytest.fixture
def client(store):
    return TestClient(create_app(store))


def roundtrip(article: Article) -> dict:
    return json.loads(json.dumps(article.to_dict()))


def assert_error(response, status: int, words: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and words in body["error"]


def test_latest_articles_page_through_with_limit_and_offset(client, store):
    first = client.get("/api/articles", params={"limit": 5}).json()
    second = client.get("/api/articles", params={"limit": 5, "offset": 5}).json()
    assert (first["limit"], first["offset"], second["offset"]) == (5, 0, 5)
    ids = [a["id"] for a in first["articles"] + second["articles"]]
    assert ids == [a.id for a in store.latest_articles(limit=10)]
    assert len(set(ids)) == 10
    assert first["articles"][0] == roundtrip(store.latest_articles(limit=1)[0])
    everything = client.get("/api/articles", params={"limit": 100}).json()["articles"]
    assert len(everything) == 12


def test_latest_articles_of_one_site(client, sample_news):
    site = sample_news[0].site
    body = client.get("/api/articles", params={"site": site}).json()
    assert body["site"] == site
    assert {a["id"] for a in body["articles"]} == {a.id for a in sample_news if a.site == site}


def test_one_article_is_article_to_dict(client, store, sample_news):
    article = store.get_article(sample_news[3].id)
    body = client.get(f"/api/articles/{article.id}").json()
    assert body == roundtrip(article)
    assert set(body) == set(Article(id="x", title="t", paragraphs=[]).to_dict())
    assert body["text"] == article.text and body["published_at"] is None


def test_related_gives_both_lists_with_reasons_and_no_overlap(client, sample_news):
    article = sample_news[0]  # a report of the INS Sukanya piracy interception
    body = client.get(f"/api/articles/{article.id}/related", params={"k": 2}).json()
    assert body["article_id"] == article.id
    more, related = body["more_like_this"], body["related"]
    assert len(more) == 2 and related
    more_ids = [item["article"]["id"] for item in more]
    related_ids = [item["article"]["id"] for item in related]
    assert article.id not in more_ids + related_ids
    assert not set(more_ids) & set(related_ids)
    same_event = {a.id for a in sample_news[:4]}
    assert set(more_ids) <= same_event
    for item in more + related:
        assert item["reason"] == "shares: " + ", ".join(item["shared_terms"])
        assert item["shared_terms"] and item["score"] > 0
    assert more[0]["score"] >= more[1]["score"]


def test_search_hits_with_plain_and_highlighted_snippets(client, sample_news):
    body = client.get("/api/search", params={"q": "pirates", "limit": 3}).json()
    assert body["query"] == "pirates" and body["limit"] == 3
    hits = body["hits"]
    assert 1 <= len(hits) <= 3
    assert {hit["article"]["id"] for hit in hits} <= {a.id for a in sample_news[:4]}
    for hit in hits:
        assert MATCH_START not in hit["snippet"] and MATCH_END not in hit["snippet"]
        assert "<mark>" in hit["snippet_html"]
        assert hit["snippet_html"].replace("<mark>", "").replace("</mark>", "") != ""
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_escapes_markup_in_snippet_html(sqlite_store):
    sqlite_store.upsert_articles([Article(id="a1", title="Pirates", paragraphs=["The <b>pirates</b> & the navy."])])
    hit = TestClient(create_app(sqlite_store)).get("/api/search", params={"q": "pirates"}).json()["hits"][0]
    assert hit["snippet"] == "The <b>pirates</b> & the navy."
    assert hit["snippet_html"] == "The &lt;b&gt;<mark>pirates</mark>&lt;/b&gt; &amp; the navy."


def test_popular_counts_page_views(client, store, sample_news):
    assert client.get("/api/popular").json() == {"days": None, "popular": []}
    for _ in range(2):
        client.get(f"/articles/{sample_news[5].id}")
    store.record_view(sample_news[1].id, at=datetime(2001, 1, 1, tzinfo=timezone.utc))
    body = client.get("/api/popular").json()
    assert [(p["article"]["id"], p["views"]) for p in body["popular"]] == [(sample_news[5].id, 2), (sample_news[1].id, 1)]
    recent = client.get("/api/popular", params={"days": 7}).json()
    assert recent["days"] == 7 and [p["article"]["id"] for p in recent["popular"]] == [sample_news[5].id]


def test_stats(client, store):
    client.get(f"/articles/{store.latest_articles(limit=1)[0].id}")
    body = client.get("/api/stats").json()
    assert body == {"articles": 12, "canonical_articles": 12, "sites": len({a.site for a in store.latest_articles(50)}),
                    "with_date": 0, "page_views": 1, "languages": body["languages"]}


def test_one_error_shape_for_every_error(client):
    assert_error(client.get("/api/articles/no-such-id"), 404, "no article with id 'no-such-id'")
    assert_error(client.get("/api/articles/no-such-id/related"), 404, "no article")
    assert_error(client.get("/api/no/such/route"), 404, "there is nothing at /api/no/such/route")
    assert_error(client.get("/api/articles", params={"limit": 0}), 422, "query parameter 'limit'")
    assert_error(client.get("/api/articles", params={"limit": "many"}), 422, "valid integer")
    assert_error(client.get("/api/search"), 422, "query parameter 'q': Field required")
    assert_error(client.get("/api/search", params={"q": '"unclosed'}), 400, "unclosed quote")
    assert_error(client.get("/api/search", params={"q": "gaza OR"}), 400, "OR at the end")
    assert_error(client.get("/api/search", params={"q": "-only"}), 400, "no words to search for")
    assert_error(client.post("/api/articles"), 405, "POST is not allowed")


def test_unexpected_failures_use_the_error_shape_too(tmp_path):
    class BrokenStore(SQLiteStore):
        def stats(self):
            raise RuntimeError("disk on fire")

    store = BrokenStore(tmp_path / "broken.db")
    try:
        client = TestClient(create_app(store), raise_server_exceptions=False)
        response = client.get("/api/stats")
        assert_error(response, 500, "internal server error")
        assert "disk on fire" not in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
    finally:
        store.close()


def test_openapi_documents_every_endpoint_and_the_error_shape(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ["/api/articles", "/api/articles/{article_id}", "/api/articles/{article_id}/related", "/api/search",
                 "/api/popular", "/api/stats"]:
        assert "get" in paths[path], path
    assert not [p for p in paths if not p.startswith("/api/")], "pages and feeds stay out of the API schema"
    search_errors = paths["/api/search"]["get"]["responses"]
    for status in ("400", "422"):
        schema = search_errors[status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorOut")
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) == ERROR_KEYS
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/api/articles/{article_id}/related" in docs.text and "cdn" not in docs.text.lower()
