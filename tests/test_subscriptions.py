"""Subscriptions: feeds in three formats read by feedparser, and webhooks against a real receiver on 127.0.0.1.

The receiver (http.server in a thread) checks every request's HMAC signature and drops repeats by Idempotency-Key,
as a real receiver should; it can be told to fail (500), to be slow (past the sender's timeout) or to work. The
tests drive the delivery rounds with an explicit ``now`` so backoff waits cost no wall time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

feedparser = pytest.importorskip("feedparser")

from newsloom.errors import BlockedAddressError, InputError, QueryError
from newsloom.feeds import AtomFeed, render_feed
from newsloom.model import Article, EntityMention, article_id_for
from newsloom.store import SQLiteStore
from newsloom.subscriptions import (
    RetryPolicy,
    backoff_delay,
    create_subscription,
    deliver_pending,
    feed_path,
    idempotency_key,
    matching_articles,
    verify_webhook,
)

SECRET = "s3cret-for-tests"
T0 = datetime(2024, 3, 26, 12, 0, tzinfo=UTC)


def make_article(n: int, words: str = "ceasefire talks in rafah", site: str = "example.com") -> Article:
    url = f"https://{site}/news/{n}"
    return Article(
        id=article_id_for(url, f"text {n}"), title=f"Story {n}: {words}", url=url, canonical_url=url, site=site,
        paragraphs=[f"Paragraph about {words}, number {n}.", "Second paragraph with more words."],
        published_at=T0 + timedelta(minutes=n), fetched_at=T0 + timedelta(minutes=n, seconds=5),
        author="A. Writer", entities=[EntityMention("Rafah", "GPE", 1)],
    )


# -- the receiver ----------------------------------------------------------------------------------------------------
class Receiver:
    """A webhook endpoint: mode "ok" (200), "fail" (500) or "slow" (answers after ``slow_seconds``)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.slow_seconds = 1.2
        self.requests: list[dict] = []  # every request that arrived, with whether its signature verified
        self.processed: dict[str, dict] = {}  # idempotency key -> body, first time only
        self.repeats = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                signed = verify_webhook(SECRET, self.headers.get("X-Newsloom-Timestamp"), body,
                                        self.headers.get("X-Newsloom-Signature"), now=T0.timestamp() + 86400 * 3,
                                        tolerance_seconds=86400 * 30)
                key = self.headers.get("Idempotency-Key", "")
                with receiver.lock:
                    receiver.requests.append({"key": key, "signed": signed, "mode": receiver.mode})
                    mode = receiver.mode
                if not signed:
                    self._answer(401)
                    return
                if mode == "fail":
                    self._answer(500)
                    return
                if mode == "slow":
                    time.sleep(receiver.slow_seconds)
                with receiver.lock:  # processed even when slow: the sender may have given up, the work was done
                    if key in receiver.processed:
                        receiver.repeats += 1
                    else:
                        receiver.processed[key] = json.loads(body)
                self._answer(200)

            def _answer(self, status: int) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender timed out and closed the connection

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _subscribe(store: SQLiteStore, receiver: Receiver, **kwargs: object):
    return create_subscription(store, "query", "rafah", webhook_url=receiver.url, secret=SECRET,
                               allow_private_networks=True, now=T0, **kwargs)


FAST = RetryPolicy(max_attempts=4, base_delay=timedelta(seconds=30), timeout_seconds=0.5)


# -- webhooks --------------------------------------------------------------------------------------------------------
def test_once_per_subscription_across_failures_and_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "news.db"
    store = SQLiteStore(db)
    store.upsert_articles([make_article(0)])  # matched before the subscription: not sent
    subscription = _subscribe(store, receiver)
    store.upsert_articles([make_article(n) for n in (1, 2, 3)])

    receiver.mode = "fail"
    report = deliver_pending(store, T0, policy=FAST)
    assert (report.enqueued, report.attempted, report.failed, report.delivered) == (3, 3, 3, 0)
    # Not due yet: the backoff holds the retries back.
    assert deliver_pending(store, T0 + timedelta(seconds=10), policy=FAST).attempted == 0

    receiver.mode = "ok"
    report = deliver_pending(store, T0 + timedelta(seconds=31), policy=FAST)
    assert (report.attempted, report.delivered) == (3, 3)
    assert deliver_pending(store, T0 + timedelta(hours=1), policy=FAST).attempted == 0
    store.close()

    # A restart: a new store object on the same file, new articles arrive, one more round.
    store = SQLiteStore(db)
    store.upsert_articles([make_article(4), make_article(5, words="football scores")])  # 5 does not match
    report = deliver_pending(store, T0 + timedelta(hours=2), policy=FAST)
    assert (report.enqueued, report.attempted, report.delivered) == (1, 1, 1)
    store.close()

    # And a newsloom process of its own (the CLI), on the same file: nothing is owed, nothing is sent.
    result = subprocess.run([sys.executable, "-m", "newsloom", "--db", str(db), "subscribe", "deliver"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "0 attempted" in result.stdout

    expected = {idempotency_key(subscription.id, make_article(n).id) for n in (1, 2, 3, 4)}
    assert set(receiver.processed) == expected
    assert receiver.repeats == 0
    assert all(r["signed"] for r in receiver.requests)
    assert len(receiver.requests) == 3 + 3 + 1  # three failures, three deliveries, one after the restart
    store = SQLiteStore(db)
    log = store.delivery_log(subscription.id)
    assert [entry.http_status for entry in log] == [500, 500, 500, 200, 200, 200, 200]
    assert {d.status for d in store.list_deliveries(subscription.id)} == {"delivered", "skipped"}
    store.close()


def test_slow_receiver_times_out_then_the_retry_carries_the_same_idempotency_key(receiver: Receiver) -> None:
    store = SQLiteStore(":memory:")
    subscription = _subscribe(store, receiver)
    article = make_article(1)
    store.upsert_articles([article])

    receiver.mode = "slow"
    started = time.monotonic()
    report = deliver_pending(store, T0, policy=FAST)
    assert time.monotonic() - started < receiver.slow_seconds  # the sender did not wait for the slow answer
    assert (report.attempted, report.failed) == (1, 1)
    [entry] = store.delivery_log(subscription.id)
    assert entry.http_status is None and "Timeout" in (entry.error or "")

    time.sleep(receiver.slow_seconds)  # the slow receiver finishes its work
    receiver.mode = "ok"
    report = deliver_pending(store, T0 + timedelta(minutes=1), policy=FAST)
    assert report.delivered == 1
    keys = [r["key"] for r in receiver.requests]
    assert keys == [idempotency_key(subscription.id, article.id)] * 2
    assert receiver.repeats == 1  # the receiver saw the repeat by its key and dropped it
    assert list(receiver.processed) == [idempotency_key(subscription.id, article.id)]
    body = receiver.processed[keys[0]]
    assert body["article"]["id"] == article.id and body["subscription"]["id"] == subscription.id


def test_dead_letter_after_max_attempts_with_exponential_backoff(receiver: Receiver) -> None:
    store = SQLiteStore(":memory:")
    subscription = _subscribe(store, receiver)
    store.upsert_articles([make_article(1)])
    receiver.mode = "fail"
    policy = RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=10), timeout_seconds=2)
    now = T0
    outcomes = []
    for _ in range(6):
        report = deliver_pending(store, now, policy=policy)
        outcomes.append((report.attempted, report.failed, report.dead))
        now += timedelta(hours=1)
    assert outcomes == [(1, 1, 0), (1, 1, 0), (1, 0, 1), (0, 0, 0), (0, 0, 0), (0, 0, 0)]
    [delivery] = store.list_deliveries(subscription.id)
    assert (delivery.status, delivery.attempts, delivery.last_http_status) == ("dead", 3, 500)
    assert len(store.delivery_log(subscription.id)) == 3 == len(receiver.requests)
    assert [backoff_delay(policy, n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert backoff_delay(RetryPolicy(max_delay=timedelta(minutes=5)), 50) == timedelta(minutes=5)


def test_receiver_rejects_a_wrong_signature(receiver: Receiver) -> None:
    store = SQLiteStore(":memory:")
    subscription = create_subscription(store, "entity", "Rafah", webhook_url=receiver.url, secret="not-the-secret",
                                       allow_private_networks=True, now=T0)
    store.upsert_articles([make_article(1)])
    report = deliver_pending(store, T0, policy=FAST)
    assert report.failed == 1 and receiver.processed == {}
    assert receiver.requests[0]["signed"] is False
    assert store.delivery_log(subscription.id)[0].http_status == 401


def test_verify_webhook_rejects_tampering_and_stale_timestamps() -> None:
    from newsloom.subscriptions import sign_webhook

    body = b'{"a": 1}'
    signature = sign_webhook(SECRET, "1700000000", body)
    assert verify_webhook(SECRET, "1700000000", body, signature, now=1700000010)
    assert not verify_webhook(SECRET, "1700000000", body + b" ", signature, now=1700000010)
    assert not verify_webhook(SECRET, "1700000001", body, signature, now=1700000010)
    assert not verify_webhook(SECRET, "1700000000", body, signature, now=1700009999)
    assert not verify_webhook(SECRET, None, body, signature)


def test_ssrf_guard_refuses_private_webhooks_unless_allowed() -> None:
    store = SQLiteStore(":memory:")
    with pytest.raises(BlockedAddressError):
        create_subscription(store, "query", "rafah", webhook_url="http://127.0.0.1:9/hook", secret="x")
    with pytest.raises(BlockedAddressError):
        create_subscription(store, "query", "rafah", webhook_url="http://169.254.169.254/latest", secret="x")
    with pytest.raises(QueryError):
        create_subscription(store, "query", '"unclosed')
    with pytest.raises(InputError):
        create_subscription(store, "planet", "mars")
    assert store.list_subscriptions() == []


def test_backfill_sends_what_already_matched(receiver: Receiver) -> None:
    store = SQLiteStore(":memory:")
    store.upsert_articles([make_article(1), make_article(2)])
    _subscribe(store, receiver, backfill=True)
    assert deliver_pending(store, T0, policy=FAST).delivered == 2


def test_subscriptions_survive_a_reopen_and_can_be_removed(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    with SQLiteStore(db) as store:
        feed_only = create_subscription(store, "site", "example.com", now=T0)
    with SQLiteStore(db) as store:
        [again] = store.list_subscriptions()
        assert again == feed_only and again.webhook_url is None
        assert feed_path(again, "rss") == "/feeds/sites/example.com.rss"
        store.remove_subscription(feed_only.id)
        assert store.list_subscriptions() == []


# -- feeds -------------------------------------------------------------------------------------------------------------
def _feed_articles() -> list[Article]:
    hostile = make_article(7)
    hostile.title = "Tom & Jerry <b>bold</b> \x01control\x0b chars ünïcode"
    hostile.author = "Ann <ann@example.com>"
    undated = make_article(8)
    undated.published_at = None
    return [hostile, make_article(1), undated]


# feedparser 6.0.14 (the newest release on PyPI) has no JSON Feed parser: it reads Atom and RSS only, so the JSON Feed
# is checked against the JSON Feed 1.1 spec's rules by test_json_feed_follows_the_spec below.
@pytest.mark.parametrize("feed_format", ["atom", "rss"])
def test_feeds_are_read_by_feedparser_without_errors(feed_format: str) -> None:
    articles = _feed_articles()
    hostile = articles[0]
    feed = AtomFeed("https://news.test/feeds/x", "Test feed & more", "https://news.test/feeds/x",
                    "https://news.test/", subtitle="Articles")
    body, media_type = render_feed(feed_format, feed, articles, lambda a: f"https://news.test/articles/{a.id}",
                                   now=T0)
    # As a reader gets it over HTTP: feedparser picks its JSON parser by the Content-Type.
    parsed = feedparser.parse(body, response_headers={"content-type": f"{media_type}; charset=utf-8"})
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version.startswith({"atom": "atom", "rss": "rss", "json": "json"}[feed_format])
    assert len(parsed.entries) == 3
    assert parsed.feed.title == "Test feed & more"
    first = parsed.entries[0]
    assert first.title == "Tom & Jerry <b>bold</b> control chars ünïcode"
    assert first.link == f"https://news.test/articles/{hostile.id}"
    assert first.id == f"urn:newsloom:article:{hostile.id}"
    assert "published_parsed" in first and "published_parsed" not in parsed.entries[2]
    assert media_type in {"application/atom+xml", "application/rss+xml"}


def test_json_feed_follows_the_spec() -> None:
    articles = _feed_articles()
    feed = AtomFeed("https://news.test/feeds/x.json", "Test", "https://news.test/feeds/x.json", "https://news.test/")
    body, media_type = render_feed("json", feed, articles, lambda a: f"https://news.test/articles/{a.id}", now=T0)
    assert media_type == "application/feed+json"
    document = json.loads(body)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == "Test" and document["feed_url"] == "https://news.test/feeds/x.json"
    assert len(document["items"]) == 3
    for item, article in zip(document["items"], articles):
        assert isinstance(item["id"], str) and item["id"].endswith(article.id)
        assert item.get("content_text") or item.get("content_html")  # the spec requires one of them
        for key in ("date_published", "date_modified"):
            if key in item:  # RFC 3339
                assert datetime.fromisoformat(item[key]).tzinfo is not None
        assert all(isinstance(author["name"], str) for author in item.get("authors", []))
    assert document["items"][0]["title"] == "Tom & Jerry <b>bold</b> control chars ünïcode"
    assert "date_published" not in document["items"][2]


def test_matching_articles_per_kind() -> None:
    store = SQLiteStore(":memory:")
    store.upsert_articles([make_article(1), make_article(2, site="other.org", words="football")])
    for kind, target, expected in (("query", "rafah", [1]), ("entity", "Rafah", [2, 1]), ("site", "other.org", [2])):
        subscription = create_subscription(store, kind, target, now=T0)
        assert [a.id for a in matching_articles(store, subscription)] == [
            make_article(n, **({"site": "other.org", "words": "football"} if n == 2 else {})).id for n in expected
        ]


# -- the web: feed routes in three formats, conditional GET, the subscriptions API -----------------------------------
TOKEN = "t" * 24


@pytest.fixture()
def client() -> Iterator[object]:
    from fastapi.testclient import TestClient

    from newsloom.web.app import create_app

    store = SQLiteStore(":memory:")
    store.upsert_articles([make_article(1), make_article(2)])
    with TestClient(create_app(store, api_token=TOKEN)) as test_client:
        yield test_client
    store.close()


@pytest.mark.parametrize("path", ["/feeds/latest", "/feeds/sites/example.com", "/feeds/entities/Rafah",
                                  "/feeds/search"])
def test_feed_routes_serve_three_formats_with_etag_and_304(client, path: str) -> None:
    params = {"q": "rafah"} if path.endswith("search") else None
    for feed_format, media_type in (("atom", "application/atom+xml"), ("rss", "application/rss+xml"),
                                    ("json", "application/feed+json")):
        response = client.get(f"{path}.{feed_format}", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media_type)
        if feed_format != "json":
            parsed = feedparser.parse(response.content, response_headers=dict(response.headers))
            assert parsed.bozo == 0 and len(parsed.entries) == 2
        else:
            assert len(json.loads(response.content)["items"]) == 2
        etag = response.headers["etag"]
        again = client.get(f"{path}.{feed_format}", params=params, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        other = client.get(f"{path}.{feed_format}", params=params, headers={"If-None-Match": '"stale", W/"x"'})
        assert other.status_code == 200


def test_subscriptions_api_reads_open_writes_need_the_token(client) -> None:
    assert client.post("/api/subscriptions", json={"kind": "query", "target": "rafah"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    created = client.post("/api/subscriptions", json={"kind": "query", "target": "rafah"}, headers=auth)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["feeds"]["rss"] == "/feeds/search.rss?q=rafah" and record["secret"] is None
    assert client.get(record["feeds"]["json"]).status_code == 200
    bad = client.post("/api/subscriptions", json={"kind": "query", "target": '"open'}, headers=auth)
    assert bad.status_code == 400 and bad.json()["ok"] is False
    private = client.post("/api/subscriptions", headers=auth,
                          json={"kind": "site", "target": "example.com", "webhook_url": "http://127.0.0.1/x"})
    assert private.status_code == 400
    assert [s["id"] for s in client.get("/api/subscriptions").json()] == [record["id"]]
    assert client.get(f"/api/subscriptions/{record['id']}").json()["log"] == []
    assert client.delete(f"/api/subscriptions/{record['id']}").status_code == 401
    assert client.delete(f"/api/subscriptions/{record['id']}", headers=auth).status_code == 200
    assert client.get(f"/api/subscriptions/{record['id']}").status_code == 404


def test_subscribe_boxes_link_all_three_formats(client) -> None:
    article = make_article(1)
    pages = {
        f"/articles/{article.id}": None, "/entities/Rafah": None, "/sites/example.com": None, "/search": {"q": "rafah"},
    }
    for path, params in pages.items():
        html = client.get(path, params=params).text
        for suffix in (".atom", ".rss", ".json"):
            assert suffix in html, (path, suffix)
        for href in set(re.findall(r'href="([^"]*/feeds/[^"]*)"', html)):
            target = href.replace("&amp;", "&")
            assert client.get(target).status_code == 200, (path, target)
