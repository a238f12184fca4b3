"""The mapping between Article records and table rows, shared by every SQL backend so they store the same thing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..model import Article, EntityMention, Teaser

__all__ = ["ARTICLE_COLUMNS", "iso", "parse_iso", "content_hash", "article_row", "row_to_article"]

# The columns an Article is read back from, in this order.
ARTICLE_COLUMNS = (
    "id", "url", "canonical_url", "site", "title", "author", "published_at", "published_at_source",
    "published_at_confidence", "language", "image", "page_type", "body", "teasers", "source", "fetched_at",
    "duplicate_of", "story_id", "entities", "keyphrases", "summary",
)


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 text; naive datetimes are taken as UTC. Sorting the text sorts the instants."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def parse_iso(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if value else None


def content_hash(article: Article) -> str:
    """A digest of everything stored for the article: equal digests mean an upsert has nothing to change."""
    payload = json.dumps(article.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def article_row(article: Article) -> dict[str, Any]:
    """The stored values of an article, keyed by column (dates as UTC ISO text, lists as JSON)."""
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "site": article.site,
        "title": article.title,
        "author": article.author,
        "published_at": iso(article.published_at),
        "published_at_source": article.published_at_source,
        "published_at_confidence": article.published_at_confidence,
        "language": article.language,
        "image": article.image,
        "page_type": article.page_type,
        "body": "\n\n".join(article.paragraphs),
        "teasers": json.dumps([{"title": t.title, "excerpt": t.excerpt, "url": t.url} for t in article.teasers]),
        "source": article.source,
        "fetched_at": iso(article.fetched_at),
        "duplicate_of": article.duplicate_of,
        "story_id": article.story_id,
        "entities": json.dumps([{"name": e.name, "type": e.type, "count": e.count} for e in article.entities]),
        "keyphrases": json.dumps(article.keyphrases),
        "summary": article.summary,
        "content_hash": content_hash(article),
    }


def row_to_article(row: Mapping[str, Any]) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        paragraphs=[p for p in row["body"].split("\n\n") if p],
        url=row["url"],
        canonical_url=row["canonical_url"],
        site=row["site"],
        author=row["author"],
        published_at=parse_iso(row["published_at"]),
        published_at_source=row["published_at_source"],
        published_at_confidence=row["published_at_confidence"],
        language=row["language"],
        image=row["image"],
        page_type=row["page_type"],
        teasers=[Teaser(**t) for t in json.loads(row["teasers"])],
        source=row["source"],
        fetched_at=parse_iso(row["fetched_at"]),
        duplicate_of=row["duplicate_of"],
        story_id=row["story_id"],
        entities=[EntityMention(**e) for e in json.loads(row["entities"])],
        keyphrases=json.loads(row["keyphrases"]),
        summary=row["summary"],
    )


# -- subscriptions: the same row mapping for every SQL backend --------------------------------------------------------
SUBSCRIPTION_COLUMNS = ("id", "kind", "target", "created_at", "webhook_url", "secret", "allow_private_networks", "active")
DELIVERY_COLUMNS = ("subscription_id", "article_id", "status", "attempts", "next_attempt_at", "last_error",
                    "last_http_status", "created_at", "delivered_at")
DELIVERY_LOG_COLUMNS = ("subscription_id", "article_id", "attempt", "at", "http_status", "error", "duration_ms")


def subscription_values(subscription: Any) -> list[Any]:
    """A SubscriptionRecord's values in SUBSCRIPTION_COLUMNS order (dates as ISO text, flags as 0/1)."""
    return [
        subscription.id, subscription.kind, subscription.target, iso(subscription.created_at),
        subscription.webhook_url, subscription.secret, int(subscription.allow_private_networks),
        int(subscription.active),
    ]


def subscription_from_row(row: Mapping[str, Any]) -> Any:
    from .base import SubscriptionRecord

    return SubscriptionRecord(
        id=row["id"], kind=row["kind"], target=row["target"], created_at=parse_iso(row["created_at"]),
        webhook_url=row["webhook_url"], secret=row["secret"],
        allow_private_networks=bool(row["allow_private_networks"]), active=bool(row["active"]),
    )


def delivery_values(delivery: Any) -> list[Any]:
    return [
        delivery.subscription_id, delivery.article_id, delivery.status, delivery.attempts,
        iso(delivery.next_attempt_at), delivery.last_error, delivery.last_http_status, iso(delivery.created_at),
        iso(delivery.delivered_at),
    ]


def delivery_from_row(row: Mapping[str, Any]) -> Any:
    from .base import DeliveryRecord

    return DeliveryRecord(
        subscription_id=row["subscription_id"], article_id=row["article_id"], status=row["status"],
        attempts=row["attempts"], next_attempt_at=parse_iso(row["next_attempt_at"]), last_error=row["last_error"],
        last_http_status=row["last_http_status"], created_at=parse_iso(row["created_at"]),
        delivered_at=parse_iso(row["delivered_at"]),
    )


def delivery_log_values(entry: Any) -> list[Any]:
    return [entry.subscription_id, entry.article_id, entry.attempt, iso(entry.at), entry.http_status, entry.error,
            entry.duration_ms]


def delivery_log_from_row(row: Mapping[str, Any]) -> Any:
    from .base import DeliveryLogEntry

    return DeliveryLogEntry(
        subscription_id=row["subscription_id"], article_id=row["article_id"], attempt=row["attempt"],
        at=parse_iso(row["at"]), http_status=row["http_status"], error=row["error"], duration_ms=row["duration_ms"],
    )
