"""Subscriptions in the JSON API: list and read them (open), create and delete them (API token, security.py).

    GET    /api/subscriptions            all, with delivery counts
    GET    /api/subscriptions/{id}       one, with its feeds and latest delivery log lines
    POST   /api/subscriptions            {"kind": "query"|"entity"|"story"|"site", "target": ..., "webhook_url"?, "secret"?}
    DELETE /api/subscriptions/{id}

Webhook secrets are never returned, except once: in the answer to the POST that generated one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ..store.base import Store, SubscriptionRecord
from ..subscriptions import create_subscription, feed_path
from .security import require_write_token

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["subscriptions"])
_STATUSES = ("pending", "delivered", "dead")


class SubscriptionIn(BaseModel):
    kind: str = Field(description="query, entity, story or site")
    target: str = Field(min_length=1, max_length=1000, description="the query, entity name, story id or site")
    webhook_url: str | None = Field(None, max_length=2000, description="POST new matches here (public address only)")
    secret: str | None = Field(None, min_length=8, max_length=200, description="HMAC key; generated when absent")
    backfill: bool = Field(False, description="also send what already matches")


class SubscriptionOut(BaseModel):
    id: str
    kind: str
    target: str
    created_at: str
    webhook_url: str | None
    feeds: dict[str, str] = Field(description="the reader's feeds of the same thing, by format")
    deliveries: dict[str, int] = Field(description="webhook deliveries by status")
    secret: str | None = Field(None, description="only in the answer to a POST that generated it")
    log: list[dict[str, Any]] | None = None


def _store(request: Request) -> Store:
    return request.app.state.store


def _out(store: Store, record: SubscriptionRecord, *, secret: str | None = None, log: bool = False) -> SubscriptionOut:
    counts = {s: len(store.list_deliveries(record.id, s, limit=1_000_000)) for s in _STATUSES} \
        if record.webhook_url else {}
    entries = None
    if log:
        entries = [{"article_id": e.article_id, "attempt": e.attempt, "at": e.at.isoformat(),
                    "http_status": e.http_status, "error": e.error, "duration_ms": e.duration_ms}
                   for e in store.delivery_log(record.id)[-100:]]
    return SubscriptionOut(
        id=record.id, kind=record.kind, target=record.target, created_at=record.created_at.isoformat(),
        webhook_url=record.webhook_url, feeds={f: feed_path(record, f) for f in ("atom", "rss", "json")},
        deliveries=counts, secret=secret, log=entries,
    )


@router.get("/subscriptions", response_model=list[SubscriptionOut], summary="Subscriptions")
def list_subscriptions(request: Request) -> list[SubscriptionOut]:
    store = _store(request)
    return [_out(store, record) for record in store.list_subscriptions()]


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut, summary="One subscription")
def get_subscription(request: Request, subscription_id: str) -> SubscriptionOut:
    store = _store(request)
    return _out(store, store.get_subscription(subscription_id), log=True)


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=201, summary="Subscribe (token)",
             dependencies=[Depends(require_write_token)])
def add_subscription(request: Request, subscription: SubscriptionIn) -> SubscriptionOut:
    """Webhooks must point at a public address (the SSRF guard refuses loopback and private networks)."""
    store = _store(request)
    record = create_subscription(store, subscription.kind, subscription.target, webhook_url=subscription.webhook_url,
                                 secret=subscription.secret, backfill=subscription.backfill)
    generated = record.secret if record.webhook_url and subscription.secret is None else None
    return _out(store, record, secret=generated)


@router.delete("/subscriptions/{subscription_id}", summary="Unsubscribe (token)",
               dependencies=[Depends(require_write_token)])
def delete_subscription(request: Request, subscription_id: str) -> dict[str, Any]:
    _store(request).remove_subscription(subscription_id)
    return {"ok": True, "removed": subscription_id}
