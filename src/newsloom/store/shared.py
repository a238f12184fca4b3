"""Queries that read and write the same way on every SQL backend, written once.

A backend mixes ``SharedQueries`` in and provides ``_read(sql, params)`` (rows addressable by column name: both
``sqlite3.Row`` and psycopg's dict rows are), ``_write(work)`` (one transaction), and ``PLACEHOLDER`` ("?" or "%s").
The SQL here is written with "?" and only named columns; ``_sql`` turns it into the backend's parameter style.
Backend-specific queries (upserts, full-text search, anything using an SQL dialect feature) stay in each backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..dedup import RETIRED_PREFIX_SIZE
from ..errors import NotFoundError
from ..model import Article
from ..search import Query
from .base import DayCount, EntityCount, SourceRecord, StoryRow
from .base import DeliveryLogEntry, DeliveryRecord, SubscriptionRecord
from .filters import filter_conditions
from .rows import (
    ARTICLE_COLUMNS,
    DELIVERY_COLUMNS,
    DELIVERY_LOG_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    delivery_from_row,
    delivery_log_from_row,
    delivery_log_values,
    delivery_values,
    iso,
    parse_iso,
    row_to_article,
    subscription_from_row,
    subscription_values,
)

__all__ = ["SharedQueries"]

_COLUMNS = ", ".join(ARTICLE_COLUMNS)
_A_COLUMNS = ", ".join("a." + column for column in ARTICLE_COLUMNS)
_STORY_COLUMNS = (
    "s.id AS id, s.title AS title, s.first_seen AS first_seen, s.last_seen AS last_seen, "
    "s.article_count AS article_count, s.top_terms AS top_terms, s.top_entities AS top_entities, "
    "s.volume_per_day AS volume_per_day, s.volume_per_hour AS volume_per_hour, s.archived AS archived, "
    "(SELECT count(DISTINCT a.site) FROM articles a WHERE a.story_id = s.id AND a.duplicate_of IS NULL) AS source_count"
)
_IDS_PER_QUERY = 500
_SOURCE_FIELDS = ("url", "kind", "title", "every_seconds", "etag", "last_modified", "last_checked",
                  "last_success", "last_error", "error_count", "next_due", "articles")


def _story_from_row(row: Any) -> StoryRow:
    return StoryRow(
        id=row["id"], title=row["title"], first_seen=parse_iso(row["first_seen"]), last_seen=parse_iso(row["last_seen"]),
        article_count=row["article_count"], top_terms=json.loads(row["top_terms"]),
        top_entities=json.loads(row["top_entities"]), volume_per_day=json.loads(row["volume_per_day"]),
        volume_per_hour=json.loads(row["volume_per_hour"]), archived=bool(row["archived"]),
        source_count=row["source_count"],
    )


def _source_from_row(row: Any) -> SourceRecord:
    values = {field: row[field] for field in _SOURCE_FIELDS}
    for key in ("last_checked", "last_success", "next_due"):
        values[key] = parse_iso(values[key])
    return SourceRecord(**values)


def _entity_counts(rows: list[Any]) -> list[EntityCount]:
    return [EntityCount(row["name"], row["type"], row["n"]) for row in rows]


class SharedQueries:
    """Stories, duplicates, sources, checkpoints, entities and subscriptions: the same SQL on SQLite and PostgreSQL."""

    PLACEHOLDER = "?"

    def _sql(self, sql: str) -> str:
        return sql if self.PLACEHOLDER == "?" else sql.replace("?", self.PLACEHOLDER)

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[Any]:
        return self._read(self._sql(sql), list(params))  # type: ignore[attr-defined]

    # -- stories ----------------------------------------------------------------------------------------------
    def get_story(self, story_id: str) -> StoryRow:
        """The story, or for the id of a story merged into another, the story it was merged into
        (the returned row's id then differs from ``story_id``: callers may redirect to it)."""
        rows = self._query(f"SELECT {_STORY_COLUMNS} FROM stories s WHERE s.id = ?", (story_id,))
        if not rows:
            survivor = self.story_merged_into(story_id)
            if survivor is not None:
                rows = self._query(f"SELECT {_STORY_COLUMNS} FROM stories s WHERE s.id = ?", (survivor,))
        if not rows:
            raise NotFoundError(f"no story with id {story_id!r}")
        return _story_from_row(rows[0])

    def story_merged_into(self, story_id: str) -> str | None:
        """The id of the story that absorbed ``story_id``, or None if it was never merged."""
        rows = self._query("SELECT merged_into FROM story_redirects WHERE id = ?", (story_id,))
        return rows[0]["merged_into"] if rows else None

    def top_stories(self, limit: int = 20, since: datetime | None = None) -> list[StoryRow]:
        where, params = ("WHERE s.last_seen >= ?", [iso(since)]) if since else ("", [])
        rows = self._query(
            f"SELECT {_STORY_COLUMNS} FROM stories s {where} "
            "ORDER BY s.article_count DESC, s.last_seen DESC, s.id LIMIT ?",
            params + [limit],
        )
        return [_story_from_row(row) for row in rows]

    def story_articles(self, story_id: str, limit: int = 200) -> list[Article]:
        rows = self._query(  # an absorbed story's id leads to the survivor's articles (redirects are flattened)
            f"SELECT {_COLUMNS} FROM articles WHERE story_id = "
            "COALESCE((SELECT merged_into FROM story_redirects WHERE id = ?), ?) AND duplicate_of IS NULL "
            "ORDER BY sort_time, rowid LIMIT ?",
            (story_id, story_id, limit),
        )
        return [row_to_article(row) for row in rows]

    # -- duplicates -------------------------------------------------------------------------------------------
    def dedup_rows(self, retention_days: float | None = None) -> Iterable[tuple[str, bytes, datetime | None, str | None]]:
        signature, params = "s.signature", []
        if retention_days is not None:
            newest = self._query("SELECT max(published_at) AS newest FROM dedup_signatures")[0]["newest"]
            if newest is not None:
                # Past the window only the header and exact fingerprint are read (DuplicateIndex.load retires them).
                signature = "CASE WHEN s.published_at < ? THEN substr(s.signature, 1, ?) ELSE s.signature END"
                params = [iso(parse_iso(newest) - timedelta(days=retention_days)), RETIRED_PREFIX_SIZE]
        rows = self._query(
            f"SELECT s.article_id AS article_id, {signature} AS signature, s.published_at AS published_at, "
            "a.duplicate_of AS duplicate_of FROM dedup_signatures s "
            "JOIN articles a ON a.id = s.article_id ORDER BY s.position",
            params,
        )
        return [(r["article_id"], bytes(r["signature"]), parse_iso(r["published_at"]), r["duplicate_of"]) for r in rows]

    def copies_of(self, article_id: str) -> list[Article]:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM articles WHERE duplicate_of = ? ORDER BY sort_time, rowid", (article_id,)
        )
        return [row_to_article(row) for row in rows]

    # -- sources and checkpoints ------------------------------------------------------------------------------
    def get_checkpoint(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM checkpoints WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def save_source(self, source: SourceRecord) -> None:
        values = [iso(v) if isinstance(v, datetime) else v for v in (getattr(source, f) for f in _SOURCE_FIELDS)]
        sql = self._sql(
            f"INSERT INTO sources ({', '.join(_SOURCE_FIELDS)}) VALUES ({', '.join('?' * len(values))}) "
            "ON CONFLICT (url) DO UPDATE SET " + ", ".join(f"{f} = excluded.{f}" for f in _SOURCE_FIELDS if f != "url")
        )
        self._write(lambda db: db.execute(sql, values))  # type: ignore[attr-defined]

    def get_source(self, url: str) -> SourceRecord:
        rows = self._query(f"SELECT {', '.join(_SOURCE_FIELDS)} FROM sources WHERE url = ?", (url,))
        if not rows:
            raise NotFoundError(f"no source {url!r}")
        return _source_from_row(rows[0])

    def list_sources(self) -> list[SourceRecord]:
        rows = self._query(f"SELECT {', '.join(_SOURCE_FIELDS)} FROM sources ORDER BY url")
        return [_source_from_row(row) for row in rows]

    def remove_source(self, url: str) -> None:
        sql = self._sql("DELETE FROM sources WHERE url = ?")

        def delete(db: Any) -> None:
            if db.execute(sql, (url,)).rowcount == 0:
                raise NotFoundError(f"no source {url!r}")

        self._write(delete)  # type: ignore[attr-defined]

    # -- entities ---------------------------------------------------------------------------------------------
    def top_entities(self, limit: int = 20, type: str | None = None) -> list[EntityCount]:
        where = "WHERE a.duplicate_of IS NULL" + (" AND e.type = ?" if type else "")
        return _entity_counts(self._query(
            "SELECT e.name AS name, e.type AS type, count(*) AS n FROM article_entities e "
            f"JOIN articles a ON a.id = e.article_id {where} GROUP BY e.name, e.type ORDER BY n DESC, e.name LIMIT ?",
            ([type] if type else []) + [limit],
        ))

    def entity(self, name: str) -> list[EntityCount]:
        counts = _entity_counts(self._query(
            "SELECT e.name AS name, e.type AS type, count(*) AS n FROM article_entities e "
            "JOIN articles a ON a.id = e.article_id WHERE e.name = ? AND a.duplicate_of IS NULL "
            "GROUP BY e.name, e.type ORDER BY n DESC",
            (name,),
        ))
        if not counts:
            raise NotFoundError(f"no article mentions {name!r}")
        return counts

    def articles_mentioning(self, name: str, limit: int = 20, offset: int = 0) -> list[Article]:
        rows = self._query(
            f"SELECT DISTINCT {_A_COLUMNS}, a.sort_time, a.rowid FROM article_entities e "
            "JOIN articles a ON a.id = e.article_id WHERE e.name = ? AND a.duplicate_of IS NULL "
            "ORDER BY a.sort_time DESC, a.rowid DESC LIMIT ? OFFSET ?",
            (name, limit, offset),
        )
        return [row_to_article(row) for row in rows]

    def cooccurring_entities(self, name: str, limit: int = 12) -> list[EntityCount]:
        return _entity_counts(self._query(
            "SELECT other.name AS name, other.type AS type, count(DISTINCT other.article_id) AS n "
            "FROM article_entities mine "
            "JOIN article_entities other ON other.article_id = mine.article_id AND other.name <> mine.name "
            "JOIN articles a ON a.id = mine.article_id "
            "WHERE mine.name = ? AND a.duplicate_of IS NULL GROUP BY other.name, other.type "
            "ORDER BY n DESC, other.name LIMIT ?",
            (name, limit),
        ))

    def entity_volume(self, name: str) -> list[DayCount]:
        rows = self._query(
            "SELECT substr(a.sort_time, 1, 10) AS day, count(DISTINCT a.id) AS n FROM article_entities e "
            "JOIN articles a ON a.id = e.article_id WHERE e.name = ? AND a.duplicate_of IS NULL "
            "GROUP BY day ORDER BY day",
            (name,),
        )
        return [DayCount(row["day"], row["n"]) for row in rows]

    # -- filters ----------------------------------------------------------------------------------------------
    def ids_passing_filters(self, article_ids: Sequence[str], query: Query) -> set[str]:
        conditions, params = filter_conditions(query, "?")
        ids = list(dict.fromkeys(article_ids))
        if not conditions:
            return set(ids)
        passing: set[str] = set()
        for start in range(0, len(ids), _IDS_PER_QUERY):  # one IN (...) per chunk: databases cap bound parameters
            chunk = ids[start : start + _IDS_PER_QUERY]
            rows = self._query(
                f"SELECT a.id AS id FROM articles a WHERE a.id IN ({', '.join('?' * len(chunk))}) "
                f"AND {' AND '.join(conditions)}",
                [*chunk, *params],
            )
            passing.update(row["id"] for row in rows)
        return passing

    # -- subscriptions ----------------------------------------------------------------------------------------
    # Deliveries are listed in the order they were queued: INSERT_ORDER names the column that keeps it.
    INSERT_ORDER = "rowid"

    def save_subscription(self, subscription: SubscriptionRecord) -> None:
        sql = self._sql(
            f"INSERT INTO subscriptions ({', '.join(SUBSCRIPTION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(SUBSCRIPTION_COLUMNS))}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in SUBSCRIPTION_COLUMNS if c != "id")
        )
        self._write(lambda db: db.execute(sql, subscription_values(subscription)))  # type: ignore[attr-defined]

    def get_subscription(self, subscription_id: str) -> SubscriptionRecord:
        rows = self._query(f"SELECT {', '.join(SUBSCRIPTION_COLUMNS)} FROM subscriptions WHERE id = ?", (subscription_id,))
        if not rows:
            raise NotFoundError(f"no subscription {subscription_id!r}")
        return subscription_from_row(rows[0])

    def list_subscriptions(self) -> list[SubscriptionRecord]:
        rows = self._query(f"SELECT {', '.join(SUBSCRIPTION_COLUMNS)} FROM subscriptions ORDER BY created_at, id")
        return [subscription_from_row(row) for row in rows]

    def remove_subscription(self, subscription_id: str) -> None:
        statements = [self._sql(f"DELETE FROM {table} WHERE {key} = ?") for table, key in (
            ("subscription_delivery_log", "subscription_id"), ("subscription_deliveries", "subscription_id"),
            ("subscriptions", "id"))]

        def delete(db: Any) -> None:
            for statement in statements[:-1]:
                db.execute(statement, (subscription_id,))
            if db.execute(statements[-1], (subscription_id,)).rowcount == 0:
                raise NotFoundError(f"no subscription {subscription_id!r}")

        self._write(delete)  # type: ignore[attr-defined]

    def enqueue_deliveries(self, subscription_id: str, article_ids: Sequence[str], status: str, now: datetime) -> int:
        if not article_ids:
            return 0
        sql = self._sql(
            "INSERT INTO subscription_deliveries (subscription_id, article_id, status, attempts, next_attempt_at, "
            "created_at) VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (subscription_id, article_id) DO NOTHING"
        )

        def insert(db: Any) -> int:
            return sum(db.execute(sql, (subscription_id, article_id, status, iso(now), iso(now))).rowcount
                       for article_id in dict.fromkeys(article_ids))

        return self._write(insert)  # type: ignore[attr-defined, no-any-return]

    def due_deliveries(self, now: datetime, limit: int = 100) -> list[DeliveryRecord]:
        rows = self._query(
            f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM subscription_deliveries WHERE status = 'pending' "
            f"AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at, {self.INSERT_ORDER} LIMIT ?",
            (iso(now), limit),
        )
        return [delivery_from_row(row) for row in rows]

    def claim_delivery(self, subscription_id: str, article_id: str, now: datetime, lease_until: datetime) -> bool:
        sql = self._sql(
            "UPDATE subscription_deliveries SET next_attempt_at = ? WHERE subscription_id = ? AND article_id = ? "
            "AND status = 'pending' AND next_attempt_at <= ?"
        )
        params = (iso(lease_until), subscription_id, article_id, iso(now))
        return self._write(lambda db: db.execute(sql, params).rowcount) == 1  # type: ignore[attr-defined]

    def record_delivery_attempt(self, delivery: DeliveryRecord, log: DeliveryLogEntry) -> None:
        update = self._sql(
            "UPDATE subscription_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
            "last_http_status = ?, delivered_at = ? WHERE subscription_id = ? AND article_id = ?"
        )
        insert = self._sql(
            f"INSERT INTO subscription_delivery_log ({', '.join(DELIVERY_LOG_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(DELIVERY_LOG_COLUMNS))})"
        )
        values = delivery_values(delivery)

        def save(db: Any) -> None:
            db.execute(update, (values[2], values[3], values[4], values[5], values[6], values[8], values[0], values[1]))
            db.execute(insert, delivery_log_values(log))

        self._write(save)  # type: ignore[attr-defined]

    def list_deliveries(self, subscription_id: str, status: str | None = None, limit: int = 1000) -> list[DeliveryRecord]:
        where, params = ("AND status = ?", [status]) if status else ("", [])
        rows = self._query(
            f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM subscription_deliveries WHERE subscription_id = ? {where} "
            f"ORDER BY created_at, {self.INSERT_ORDER} LIMIT ?",
            [subscription_id, *params, limit],
        )
        return [delivery_from_row(row) for row in rows]

    def delivery_log(self, subscription_id: str, limit: int = 1000) -> list[DeliveryLogEntry]:
        rows = self._query(
            f"SELECT {', '.join(DELIVERY_LOG_COLUMNS)} FROM subscription_delivery_log WHERE subscription_id = ? "
            "ORDER BY id LIMIT ?",
            (subscription_id, limit),
        )
        return [delivery_log_from_row(row) for row in rows]
