"""Subscriptions: follow a query, an entity, a story or a site, as a feed or as a webhook.

    create_subscription(store, "query", "rafah OR gaza", webhook_url=..., secret=...) -> SubscriptionRecord
    deliver_pending(store, now, http_post=...) -> DeliveryReport      one delivery round (CLI: newsloom subscribe deliver)
    matching_articles(store, subscription) -> [Article]               what the subscription's feeds list
    sign_webhook(secret, timestamp, body) / verify_webhook(...)       the signature, for senders and receivers

Webhook contract (what a receiver sees): a POST of JSON ``{"subscription": {...}, "article": {...}}`` with

    X-Newsloom-Timestamp: <unix seconds>
    X-Newsloom-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
    Idempotency-Key: <subscription id>:<article id>        the same on every retry of one delivery
    X-Newsloom-Attempt: <n>

Any 2xx answer means delivered. Anything else (an error status, a redirect, a timeout, a refused connection) is
retried with exponential backoff; after ``RetryPolicy.max_attempts`` failures the delivery is dead (kept with its
last error, never retried). Every attempt is written to the delivery log.

Once per subscription: each (subscription, article) pair is recorded in the store once, ever (primary key), and its
state (pending, delivered, dead) is committed after each attempt, so a restart resumes where the last round stopped
and never re-sends what was delivered. The one window left is a crash after the receiver answered 2xx and before
the state was committed: that delivery is sent again, with the same Idempotency-Key, so the receiver can drop it.
What already matched when a webhook subscription was made is recorded as "skipped" (not sent), unless ``backfill``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from . import __version__
from .errors import InputError, NewsloomError, NotFoundError
from .model import Article
from .search import parse_query
from .store.base import DeliveryLogEntry, DeliveryRecord, Store, SubscriptionRecord

__all__ = [
    "MATCH_WINDOW",
    "SUBSCRIPTION_KINDS",
    "DeliveryReport",
    "HttpPost",
    "RetryPolicy",
    "backoff_delay",
    "create_subscription",
    "deliver_pending",
    "feed_path",
    "idempotency_key",
    "matching_articles",
    "post_webhook",
    "sign_webhook",
    "verify_webhook",
    "webhook_body",
]

SUBSCRIPTION_KINDS = ("query", "entity", "story", "site")
# How many of the newest matches each round looks at: more new matches than this between two rounds are not sent.
MATCH_WINDOW = 200
SIGNATURE_HEADER = "X-Newsloom-Signature"
TIMESTAMP_HEADER = "X-Newsloom-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_TARGET_LENGTH = 1000
_MAX_ERROR_LENGTH = 500

# http_post(url, body, headers, timeout=seconds, allow_private_networks=bool) -> HTTP status code.
# Raises on transport failures (timeout, refused, blocked address); the message goes into the delivery log.
HttpPost = Callable[..., int]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed webhook deliveries are retried: delay = base * 2^(failures-1), capped; dead after max_attempts."""

    max_attempts: int = 6
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=6)
    timeout_seconds: float = 10.0  # whole request: connect, send and the receiver's answer

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InputError("max_attempts must be at least 1")
        if self.timeout_seconds <= 0:
            raise InputError("timeout_seconds must be positive")


@dataclass(slots=True)
class DeliveryReport:
    """What one delivery round did."""

    enqueued: int = 0  # new matches recorded as owed
    attempted: int = 0
    delivered: int = 0
    failed: int = 0  # attempts that failed and will be retried
    dead: int = 0  # deliveries given up this round


# -- subscriptions ---------------------------------------------------------------------------------------------------
def _check_target(store: Store, kind: str, target: str) -> str:
    target = target.strip()
    if kind not in SUBSCRIPTION_KINDS:
        raise InputError(f"unknown subscription kind {kind!r}; use one of {', '.join(SUBSCRIPTION_KINDS)}")
    if not target:
        raise InputError(f"a {kind} subscription needs something to follow")
    if len(target) > _MAX_TARGET_LENGTH:
        raise InputError(f"the {kind} is {len(target)} characters long; the limit is {_MAX_TARGET_LENGTH}")
    if kind == "query":
        parse_query(target)  # a malformed query is refused now (QueryError), not at every delivery round
    elif kind == "story":
        store.get_story(target)  # NotFoundError: stories get ids when they are made, so an unknown one is a typo
    return target


def _check_webhook(url: str, allow_private_networks: bool) -> None:
    from .sources.fetch import check_url_allowed

    # Refused at creation (BlockedAddressError / FetchError) and checked again at every connection (post_webhook):
    # a name may resolve to another address later.
    check_url_allowed(url, allow_private_networks=allow_private_networks)


def create_subscription(
    store: Store,
    kind: str,
    target: str,
    *,
    webhook_url: str | None = None,
    secret: str | None = None,
    allow_private_networks: bool = False,
    backfill: bool = False,
    now: datetime | None = None,
) -> SubscriptionRecord:
    """Save a new subscription. With a webhook and no ``secret``, one is generated (read it back from the record).
    Without ``backfill``, what already matches is marked as skipped: the webhook gets only what arrives later."""
    now = now or datetime.now(UTC)
    target = _check_target(store, kind, target)
    if secret is not None and not secret.strip():
        raise InputError("the webhook secret is empty")
    if webhook_url is not None:
        _check_webhook(webhook_url, allow_private_networks)
        secret = secret or secrets.token_urlsafe(32)
    elif secret is not None:
        raise InputError("a secret only makes sense with a webhook URL")
    subscription = SubscriptionRecord(
        id="sub_" + secrets.token_hex(8), kind=kind, target=target, created_at=now, webhook_url=webhook_url,
        secret=secret, allow_private_networks=allow_private_networks,
    )
    store.save_subscription(subscription)
    if webhook_url is not None and not backfill:
        store.enqueue_deliveries(subscription.id, _matching_ids(store, subscription), "skipped", now)
    return subscription


def matching_articles(store: Store, subscription: SubscriptionRecord, limit: int = MATCH_WINDOW) -> list[Article]:
    """The subscription's newest matching articles (duplicates left out), newest first."""
    kind, target = subscription.kind, subscription.target
    if kind == "query":
        # Newest matches, not the best-scoring: a new article must not be missed because older ones rank higher.
        articles = [hit.article for hit in store.search(f"{target} sort:date", limit=limit)]
    elif kind == "entity":
        articles = store.articles_mentioning(target, limit=limit)
    elif kind == "story":
        articles = store.story_articles(target, limit=limit)
    elif kind == "site":
        articles = store.latest_articles(limit=limit, site=target)
    else:
        raise InputError(f"unknown subscription kind {kind!r}")
    return sorted(articles, key=_newest_first_key, reverse=True)


def _newest_first_key(article: Article) -> float:
    moment = article.published_at or article.fetched_at
    if moment is None:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _matching_ids(store: Store, subscription: SubscriptionRecord) -> list[str]:
    # Oldest first, so a receiver gets a burst of new matches in publication order.
    return [article.id for article in reversed(matching_articles(store, subscription))]


def feed_path(subscription: SubscriptionRecord, feed_format: str = "atom") -> str:
    """The reader's path of the feed that follows the same thing (format "atom", "rss" or "json")."""
    kind, target = subscription.kind, subscription.target
    if kind == "query":
        return f"/feeds/search.{feed_format}?" + urlencode({"q": target})
    folder = {"entity": "entities", "story": "stories", "site": "sites"}[kind]
    return f"/feeds/{folder}/{quote(target, safe='/')}.{feed_format}"


# -- signing -----------------------------------------------------------------------------------------------------------
def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=<hex>`` of HMAC-SHA256 over ``"<timestamp>." + body``.
    The timestamp is inside the MAC, so an old request cannot be replayed with a fresh timestamp."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def verify_webhook(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance_seconds: float = 300,
) -> bool:
    """What a receiver checks: the signature matches (constant-time compare) and the timestamp is recent."""
    if not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign_webhook(secret, timestamp, body), signature)


def idempotency_key(subscription_id: str, article_id: str) -> str:
    """The same for every attempt of one delivery: receivers drop a request whose key they have already seen."""
    return f"{subscription_id}:{article_id}"


def webhook_body(subscription: SubscriptionRecord, article: Article) -> bytes:
    """The JSON a webhook receives (no secret in it)."""
    document = {
        "event": "article.matched",
        "idempotency_key": idempotency_key(subscription.id, article.id),
        "subscription": {"id": subscription.id, "kind": subscription.kind, "target": subscription.target},
        "article": article.to_dict(),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")


def backoff_delay(policy: RetryPolicy, failures: int) -> timedelta:
    """Wait before the next attempt after ``failures`` failed ones: base, 2*base, 4*base... at most max_delay."""
    seconds = policy.base_delay.total_seconds() * (2 ** max(0, min(failures - 1, 30)))
    return timedelta(seconds=min(seconds, policy.max_delay.total_seconds()))


# -- sending -------------------------------------------------------------------------------------------------------------
def post_webhook(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float,
                 allow_private_networks: bool = False) -> int:
    """POST with httpx; every connection goes to an address the SSRF guard checked (sources/fetch.py), redirects
    are not followed (a 3xx is a failure), and the whole request has ``timeout`` seconds."""
    import httpx

    from .sources.fetch import _Guard, _guarded_transport, check_url_allowed

    check_url_allowed(url, allow_private_networks=allow_private_networks)
    transport = _guarded_transport(_Guard(allow_private_networks), verify=True, max_connections=1)
    with httpx.Client(transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False,
                      trust_env=False) as client:
        response = client.post(url, content=body, headers=dict(headers))
        return response.status_code


def _headers(subscription: SubscriptionRecord, article_id: str, body: bytes, now: datetime, attempt: int) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"newsloom/{__version__} (webhook)",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign_webhook(subscription.secret or "", timestamp, body),
        IDEMPOTENCY_HEADER: idempotency_key(subscription.id, article_id),
        "X-Newsloom-Attempt": str(attempt),
    }


def _attempt(http_post: HttpPost, subscription: SubscriptionRecord, article: Article, now: datetime,
             attempt: int, policy: RetryPolicy) -> tuple[int | None, str | None, int]:
    """(HTTP status or None, error or None, duration in ms) of one POST."""
    body = webhook_body(subscription, article)
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        status = http_post(subscription.webhook_url, body, _headers(subscription, article.id, body, now, attempt),
                           timeout=policy.timeout_seconds, allow_private_networks=subscription.allow_private_networks)
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except NewsloomError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - any transport failure is a failed attempt, logged, retried
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    return status, (error[:_MAX_ERROR_LENGTH] if error else None), duration_ms


def _enqueue_new_matches(store: Store, subscriptions: list[SubscriptionRecord], now: datetime) -> int:
    added = 0
    for subscription in subscriptions:
        added += store.enqueue_deliveries(subscription.id, _matching_ids(store, subscription), "pending", now)
    return added


def deliver_pending(
    store: Store,
    now: datetime | None = None,
    http_post: HttpPost | None = None,
    *,
    policy: RetryPolicy | None = None,
    limit: int = 100,
) -> DeliveryReport:
    """One delivery round: record new matches of every webhook subscription, then attempt up to ``limit`` due
    deliveries (each claimed first, so two deliverers on one store never send the same attempt twice)."""
    now = now or datetime.now(UTC)
    policy = policy or RetryPolicy()
    http_post = http_post or post_webhook
    report = DeliveryReport()
    subscriptions = {s.id: s for s in store.list_subscriptions() if s.active and s.webhook_url}
    report.enqueued = _enqueue_new_matches(store, list(subscriptions.values()), now)
    lease_until = now + timedelta(seconds=policy.timeout_seconds + 60)
    for delivery in store.due_deliveries(now, limit=limit):
        subscription = subscriptions.get(delivery.subscription_id)
        if subscription is None or not store.claim_delivery(delivery.subscription_id, delivery.article_id, now,
                                                            lease_until):
            continue
        report.attempted += 1
        outcome = _deliver_one(store, subscription, delivery, now, http_post, policy)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _deliver_one(store: Store, subscription: SubscriptionRecord, delivery: DeliveryRecord, now: datetime,
                 http_post: HttpPost, policy: RetryPolicy) -> str:
    """Attempt one delivery and commit its new state with a log line; returns "delivered", "failed" or "dead"."""
    attempt = delivery.attempts + 1
    try:
        article = store.get_article(delivery.article_id)
    except NotFoundError:
        status, error, duration_ms = None, "the article is no longer stored", 0
        attempt = policy.max_attempts  # nothing to retry
    else:
        status, error, duration_ms = _attempt(http_post, subscription, article, now, attempt, policy)
    if error is None:
        updated = replace(delivery, status="delivered", attempts=attempt, next_attempt_at=None, last_error=None,
                          last_http_status=status, delivered_at=now)
    elif attempt >= policy.max_attempts:
        updated = replace(delivery, status="dead", attempts=attempt, next_attempt_at=None, last_error=error,
                          last_http_status=status)
    else:
        updated = replace(delivery, attempts=attempt, next_attempt_at=now + backoff_delay(policy, attempt),
                          last_error=error, last_http_status=status)
    store.record_delivery_attempt(updated, DeliveryLogEntry(
        subscription.id, delivery.article_id, attempt, now, status, error, duration_ms))
    return {"delivered": "delivered", "dead": "dead"}.get(updated.status, "failed")
