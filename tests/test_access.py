"""Access control (web/security.py, web/writes.py): reads open, writes need the configured token, request bodies
are bounded, each client is rate limited, and every refusal has the one JSON error shape under /api/."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from newsloom.errors import InputError
from newsloom.web import create_app
from newsloom.web.security import AccessSettings, RateLimiter

pytestmark = pytest.mark.reliability

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECORD = {
    "url": "https://news.example/2024/03/26/ceasefire",
    "title": "Security Council demands a ceasefire",
    "text": "The Security Council demanded an immediate ceasefire on Monday.\n\nThe vote was 14 to none.",
    "published_at": "2024-03-26T08:00:00Z",
    "source": "news.example",
}


def make_client(store, *, client_address: str = "203.0.113.7", **settings) -> TestClient:
    app = create_app(store, access=AccessSettings(**settings))
    app.state.ingest_stages = []  # the write path is under test here, not enrichment
    return TestClient(app, client=(client_address, 50000), raise_server_exceptions=False)


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"ok", "error", "status"}, body
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and len(body["error"]) > 10
    assert "Content-Security-Policy" in response.headers  # refusals carry the security headers too
    return body


@pytest.fixture
def store(sqlite_store, sample_news):
    sqlite_store.upsert_articles(sample_news)
    return sqlite_store


def test_reads_are_open_without_a_token(store, sample_news):
    client = make_client(store, api_token=TOKEN)
    article_id = sample_news[0].id
    for path in ("/", f"/articles/{article_id}", "/search?q=pirates", "/feeds/latest.atom", "/api/articles",
                 f"/api/articles/{article_id}", "/api/search?q=pirates", "/api/stats", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_writes_are_switched_off_when_no_token_is_configured(store, monkeypatch):
    monkeypatch.delenv("NEWSLOOM_API_TOKEN", raising=False)
    client = TestClient(create_app(store), raise_server_exceptions=False)
    body = assert_error_shape(client.post("/api/ingest", json=[RECORD], headers=AUTH), 403)
    assert "NEWSLOOM_API_TOKEN" in body["error"]
    assert store.article_count() == 12


def test_a_write_needs_the_right_token(store):
    client = make_client(store, api_token=TOKEN)
    refused = client.post("/api/ingest", json=[RECORD])
    assert "Bearer" in assert_error_shape(refused, 401)["error"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error_shape(client.post("/api/ingest", json=[RECORD], headers={"Authorization": "Bearer wrong-token"}), 401)
    assert_error_shape(client.post("/api/ingest", json=[RECORD], headers={"Authorization": f"Basic {TOKEN}"}), 401)
    assert_error_shape(client.post("/api/ingest", json=[RECORD], headers={"X-API-Token": TOKEN[:-1]}), 401)
    assert store.article_count() == 12

    response = client.post("/api/ingest", json=[RECORD, {**RECORD, "url": None, "published_at": "yesterday"}],
                           headers=AUTH)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True and result["received"] == 2 and result["inserted"] == 1
    assert result["errors"][0]["index"] == 1 and "ISO 8601" in result["errors"][0]["error"]
    assert store.article_count() == 13
    stored = client.get("/api/articles", params={"site": "news.example"}).json()["articles"]
    assert [a["title"] for a in stored] == [RECORD["title"]]
    # The same record again changes nothing; the X-API-Token header works as well as Bearer.
    again = client.post("/api/ingest", json=[RECORD], headers={"X-API-Token": TOKEN}).json()
    assert (again["inserted"], again["unchanged"]) == (0, 1)


def test_the_token_comes_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("NEWSLOOM_API_TOKEN", TOKEN)
    client = TestClient(create_app(store), raise_server_exceptions=False)
    client.app.state.ingest_stages = []
    assert client.post("/api/ingest", json=[RECORD], headers=AUTH).status_code == 200
    assert_error_shape(client.post("/api/ingest", json=[RECORD]), 401)


def test_a_short_token_is_refused_at_start():
    with pytest.raises(InputError, match="at least 16"):
        AccessSettings(api_token="secret")
    with pytest.raises(InputError, match="NEWSLOOM_RATE_LIMIT"):
        AccessSettings.from_env({"NEWSLOOM_RATE_LIMIT": "lots"})


def test_malformed_write_bodies_get_the_error_shape(store):
    client = make_client(store, api_token=TOKEN)
    assert_error_shape(client.post("/api/ingest", content=b"{not json", headers={**AUTH, "content-type": "application/json"}), 422)
    assert_error_shape(client.post("/api/ingest", json={"text": "not a list"}, headers=AUTH), 422)
    assert_error_shape(client.post("/api/ingest", json=[{"title": "no text"}], headers=AUTH), 422)
    assert_error_shape(client.post("/api/ingest", json=[{"text": "x"}] * 1001, headers=AUTH), 400)
    assert store.article_count() == 12


def test_a_body_over_the_limit_is_refused_before_it_is_read(store):
    client = make_client(store, api_token=TOKEN, max_body_bytes=10_000)
    big = [{**RECORD, "url": f"https://news.example/{n}"} for n in range(200)]
    body = assert_error_shape(client.post("/api/ingest", json=big, headers=AUTH), 413)
    assert "10000-byte limit" in body["error"]

    def chunks():  # no Content-Length: the limit is enforced on the streamed bytes
        yield b"["
        for n in range(200):
            yield (b'{"text": "' + b"x" * 100 + b'", "url": "https://news.example/%d"},' % n)
        yield b'{"text": "end"}]'

    streamed = client.post("/api/ingest", content=chunks(), headers={**AUTH, "content-type": "application/json"})
    assert_error_shape(streamed, 413)
    assert_error_shape(client.post("/api/ingest", content=b"[]", headers={**AUTH, "content-length": "12x"}), 400)
    assert store.article_count() == 12
    # Under the limit, the same endpoint works.
    assert client.post("/api/ingest", json=big[:5], headers=AUTH).json()["inserted"] == 5


def test_each_client_is_rate_limited_on_its_own(store):
    limited = make_client(store, rate_per_minute=60, burst=5, client_address="198.51.100.1")
    other = TestClient(limited.app, client=("198.51.100.2", 50000), raise_server_exceptions=False)
    statuses = [limited.get("/api/stats").status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    refused = limited.get("/api/stats")
    assert_error_shape(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert other.get("/api/stats").status_code == 200  # another reader is not held up
    page = limited.get("/")  # pages get the HTML error page with the same status
    assert page.status_code == 429 and "Too many requests" in page.text


def test_rate_limiter_refills_and_forgets_old_clients():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, max_clients=3, clock=lambda: now[0])
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == pytest.approx(1.0)
    now[0] = 1.0
    assert limiter.acquire("a") is None  # one token back after a second
    for key in ("b", "c", "d"):
        limiter.acquire(key)
    assert len(limiter._buckets) == 3 and "a" not in limiter._buckets  # least recently seen dropped


def test_every_api_error_has_one_shape(store, monkeypatch):
    client = make_client(store, api_token=TOKEN, rate_per_minute=0)
    cases = [
        (client.get("/api/articles/no-such-id"), 404),
        (client.get("/api/nothing-here"), 404),
        (client.delete("/api/articles"), 405),
        (client.get("/api/articles", params={"limit": "many"}), 422),
        (client.get("/api/search", params={"q": '"unclosed'}), 400),
        (client.post("/api/ingest", json=[RECORD]), 401),
    ]
    for response, status in cases:
        assert_error_shape(response, status)

    def broken_stats():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "stats", broken_stats)
    body = assert_error_shape(client.get("/api/stats"), 500)
    assert "disk on fire" not in body["error"]  # internals stay in the log


def test_openapi_documents_the_write_endpoint_and_its_refusals(store):
    spec = make_client(store).get("/openapi.json").json()
    responses = spec["paths"]["/api/ingest"]["post"]["responses"]
    assert {"200", "401", "403", "413", "422", "429"} <= set(responses)
