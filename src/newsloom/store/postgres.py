"""PostgreSQL store: the same behaviour as the SQLite store, for several ingest workers and readers sharing one database.

Full-text search uses a weighted ``tsvector`` (title A, body B) with a GIN index and the 'simple' configuration, so
terms are matched as the SQLite index matches them (no stemming) and a query means the same on both backends.
Concurrent upserts of one article are settled by ``INSERT ... ON CONFLICT``: no duplicates, no lost updates.
Migrations take an advisory lock, so workers starting together apply each one exactly once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import MigrationError, MissingExtraError, NotFoundError, QueryError, StoreError
from ..model import Article
from ..search import parse_query
from .base import ArticleCount, BatchExtras, DayCount, StoryRow, EntityCount, SearchHit, SourceRecord, Store, StoreStats, UpsertResult
from .rows import ARTICLE_COLUMNS, article_row, iso, parse_iso, row_to_article
from .sqlite import MATCH_END, MATCH_START

__all__ = ["PostgresStore", "POSTGRES_MIGRATIONS", "to_tsquery_text"]

_MIGRATION_LOCK = 7_406_011  # any constant: the advisory-lock key that serialises migrations across workers

POSTGRES_MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_articles",
        """
        CREATE TABLE articles (
            rowid BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            url TEXT,
            canonical_url TEXT,
            site TEXT,
            title TEXT NOT NULL,
            author TEXT,
            published_at TEXT,
            published_at_source TEXT NOT NULL DEFAULT 'unknown',
            published_at_confidence DOUBLE PRECISION NOT NULL DEFAULT 0,
            language TEXT,
            image TEXT,
            page_type TEXT NOT NULL DEFAULT 'article',
            body TEXT NOT NULL,
            teasers TEXT NOT NULL DEFAULT '[]',
            source TEXT,
            fetched_at TEXT,
            ingested_at TEXT NOT NULL,
            sort_time TEXT NOT NULL,
            duplicate_of TEXT,
            story_id TEXT,
            entities TEXT NOT NULL DEFAULT '[]',
            keyphrases TEXT NOT NULL DEFAULT '[]',
            summary TEXT,
            content_hash TEXT NOT NULL,
            search_vector TSVECTOR GENERATED ALWAYS AS (
                setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
                setweight(to_tsvector('simple', coalesce(body, '')), 'B')
            ) STORED
        );
        CREATE INDEX articles_sort_time ON articles (sort_time DESC);
        CREATE INDEX articles_site ON articles (site, sort_time DESC);
        CREATE INDEX articles_canonical_url ON articles (canonical_url);
        CREATE INDEX articles_duplicate_of ON articles (duplicate_of);
        CREATE INDEX articles_story ON articles (story_id);
        CREATE INDEX articles_search ON articles USING GIN (search_vector);

        CREATE TABLE article_entities (
            article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (article_id, name, type)
        );
        CREATE INDEX article_entities_name ON article_entities (name, type);

        CREATE TABLE page_views (
            article_id TEXT NOT NULL,
            day TEXT NOT NULL,
            views BIGINT NOT NULL,
            PRIMARY KEY (article_id, day)
        );
        """,
    ),
    ("0002_sources_and_checkpoints", """
        CREATE TABLE sources (
            url TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            title TEXT,
            every_seconds INTEGER NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_checked TEXT,
            last_success TEXT,
            last_error TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,
            next_due TEXT,
            articles INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE checkpoints (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """),
    (
        "0003_dedup_signatures",
        """
        CREATE TABLE dedup_signatures (
            position BIGSERIAL PRIMARY KEY,
            article_id TEXT NOT NULL UNIQUE,
            signature BYTEA NOT NULL,
            published_at TEXT
        );
        """,
    ),
    ("0004_stories", """
        CREATE TABLE stories (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            first_seen TEXT,
            last_seen TEXT,
            article_count INTEGER NOT NULL,
            top_terms TEXT NOT NULL,
            top_entities TEXT NOT NULL,
            volume_per_day TEXT NOT NULL,
            volume_per_hour TEXT NOT NULL,
            archived INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX stories_size ON stories (article_count DESC, last_seen DESC);
        CREATE INDEX stories_last_seen ON stories (last_seen);
        """),
]


def _lexeme(token: str) -> str:
    # Tokens are \w+ runs, so they never hold a quote; quoting them makes tsquery take them literally.
    return "'" + token.replace("'", "''").replace("\\", "") + "'"


def to_tsquery_text(text: str) -> str:
    """The ``to_tsquery('simple', ...)`` expression of a user query in newsloom's query language."""
    query = parse_query(text)

    def term(t) -> str:  # noqa: ANN001
        return "(" + " <-> ".join(_lexeme(tok) for tok in t.tokens) + ")"

    clauses = ["(" + " | ".join(term(t) for t in alternatives) + ")" for alternatives in query.clauses]
    expression = " & ".join(clauses)
    for excluded in query.excluded:
        expression += f" & !{term(excluded)}"
    return expression


class PostgresStore(Store):
    """A newsloom store in PostgreSQL (``postgresql://user@host:port/db``). Needs the ``postgres`` extra."""

    def __init__(self, dsn: str, *, migrate: bool = True) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise MissingExtraError("the PostgreSQL store", "postgres") from exc
        self._psycopg = psycopg
        self._dict_row = dict_row
        self.dsn = dsn
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        if migrate:
            self.migrate()

    # -- connections ------------------------------------------------------------------------------------------
    @property
    def _db(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            try:
                connection = self._psycopg.connect(self.dsn, autocommit=True, row_factory=self._dict_row)
            except self._psycopg.Error as exc:
                raise StoreError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except self._psycopg.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc

    def _write(self, work):  # noqa: ANN001, ANN202
        db = self._db
        try:
            with db.transaction():
                return work(db)
        except self._psycopg.Error as exc:
            raise StoreError(f"write failed: {exc}") from exc

    # -- schema -----------------------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        def apply(db: Any) -> list[str]:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row["name"] for row in db.execute("SELECT name FROM schema_migrations").fetchall()}
            applied = []
            for name, sql in POSTGRES_MIGRATIONS:
                if name in done:
                    continue
                try:
                    with db.transaction():  # a savepoint: the failing migration's error names it
                        db.execute(sql)
                except self._psycopg.Error as exc:
                    raise MigrationError(f"migration {name} failed and was rolled back: {exc}") from exc
                db.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                    (name, datetime.now(timezone.utc).isoformat()),
                )
                applied.append(name)
            return applied

        return self._write(apply)

    def applied_migrations(self) -> list[str]:
        return [row["name"] for row in self._read("SELECT name FROM schema_migrations ORDER BY name")]

    # -- writes -----------------------------------------------------------------------------------------------
    def upsert_articles(
        self,
        articles: Iterable[Article],
        checkpoint: tuple[str, str] | None = None,
        extras: BatchExtras | None = None,
    ) -> UpsertResult:
        extras = extras or BatchExtras()
        checkpoints = dict(extras.checkpoints)
        if checkpoint is not None:
            checkpoints[checkpoint[0]] = checkpoint[1]
        batch = list({article.id: article for article in articles}.values())
        if not batch and not checkpoints and not extras.signatures and not extras.repointed and not extras.stories:
            return UpsertResult()
        now = datetime.now(timezone.utc).isoformat()
        # Lock rows in id order so two workers upserting overlapping batches cannot deadlock.
        batch.sort(key=lambda article: article.id)

        def apply(db: Any) -> UpsertResult:
            result = UpsertResult()
            for article in batch:
                row = article_row(article)
                row["ingested_at"] = now
                row["sort_time"] = row["published_at"] or now
                columns = list(row)
                updates = ", ".join(
                    f"{c} = EXCLUDED.{c}" for c in columns if c not in ("id", "ingested_at", "sort_time")
                )
                outcome = db.execute(
                    f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
                    f"ON CONFLICT (id) DO UPDATE SET {updates}, "
                    "sort_time = COALESCE(EXCLUDED.published_at, articles.ingested_at) "
                    "WHERE articles.content_hash <> EXCLUDED.content_hash "
                    "RETURNING (xmax = 0) AS inserted",
                    list(row.values()),
                ).fetchone()
                if outcome is None:
                    result.unchanged += 1
                    continue
                if outcome["inserted"]:
                    result.inserted += 1
                else:
                    result.updated += 1
                    db.execute("DELETE FROM article_entities WHERE article_id = %s", (article.id,))
                if article.entities:
                    with db.cursor() as cursor:
                        cursor.executemany(
                            "INSERT INTO article_entities (article_id, name, type, count) VALUES (%s, %s, %s, %s) "
                            "ON CONFLICT (article_id, name, type) DO UPDATE SET count = EXCLUDED.count",
                            [(article.id, e.name, e.type, e.count) for e in article.entities],
                        )
            for key, value in checkpoints.items():
                db.execute(
                    "INSERT INTO checkpoints (key, value, updated_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (key, value, now),
                )
            for article_id, signature, published_at in extras.signatures:
                db.execute(
                    "INSERT INTO dedup_signatures (article_id, signature, published_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (article_id) DO NOTHING",
                    (article_id, signature, iso(published_at)),
                )
            for article_id, duplicate_of in extras.repointed.items():
                db.execute("UPDATE articles SET duplicate_of = %s WHERE id = %s", (duplicate_of, article_id))
            for story in extras.stories:
                values = (
                    story.id, story.title, iso(story.first_seen), iso(story.last_seen), story.article_count,
                    json.dumps(story.top_terms), json.dumps(story.top_entities), json.dumps(story.volume_per_day),
                    json.dumps(story.volume_per_hour), int(story.archived), now,
                )
                db.execute(
                    "INSERT INTO stories (id, title, first_seen, last_seen, article_count, top_terms, top_entities, "
                    "volume_per_day, volume_per_hour, archived, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET title = excluded.title, first_seen = excluded.first_seen, "
                    "last_seen = excluded.last_seen, article_count = excluded.article_count, "
                    "top_terms = excluded.top_terms, top_entities = excluded.top_entities, "
                    "volume_per_day = excluded.volume_per_day, volume_per_hour = excluded.volume_per_hour, "
                    "archived = excluded.archived, updated_at = excluded.updated_at",
                    values,
                )
            for absorbed, survivor in extras.merged_stories.items():
                db.execute("UPDATE articles SET story_id = %s WHERE story_id = %s", (survivor, absorbed))
                db.execute("DELETE FROM stories WHERE id = %s", (absorbed,))
            return result

        return self._write(apply)

    def record_view(self, article_id: str, at: datetime | None = None) -> None:
        day = (at or datetime.now(timezone.utc)).date().isoformat()
        self._write(
            lambda db: db.execute(
                "INSERT INTO page_views (article_id, day, views) VALUES (%s, %s, 1) "
                "ON CONFLICT (article_id, day) DO UPDATE SET views = page_views.views + 1",
                (article_id, day),
            )
        )

    # -- reads ------------------------------------------------------------------------------------------------
    _COLUMNS = ", ".join(ARTICLE_COLUMNS)
    _A_COLUMNS = ", ".join("a." + c for c in ARTICLE_COLUMNS)

    def get_article(self, article_id: str) -> Article:
        rows = self._read(f"SELECT {self._COLUMNS} FROM articles WHERE id = %s", (article_id,))
        if not rows:
            raise NotFoundError(f"no article with id {article_id!r}")
        return row_to_article(rows[0])

    def get_articles(self, article_ids: Sequence[str]) -> list[Article]:
        if not article_ids:
            return []
        rows = self._read(f"SELECT {self._COLUMNS} FROM articles WHERE id = ANY(%s)", (list(article_ids),))
        by_id = {row["id"]: row_to_article(row) for row in rows}
        return [by_id[i] for i in article_ids if i in by_id]

    def latest_articles(self, limit: int = 20, offset: int = 0, site: str | None = None) -> list[Article]:
        where = "duplicate_of IS NULL" + (" AND site = %s" if site else "")
        params: list[object] = [site] if site else []
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM articles WHERE {where} ORDER BY sort_time DESC, rowid DESC LIMIT %s OFFSET %s",
            params + [limit, offset],
        )
        return [row_to_article(row) for row in rows]

    def search(self, query: str, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        tsquery = to_tsquery_text(query)
        try:
            rows = self._read(
                f"SELECT {self._A_COLUMNS}, ts_rank_cd(a.search_vector, q, 1) AS score, "
                "ts_headline('simple', a.body, q, %s) AS snippet "
                "FROM articles a, to_tsquery('simple', %s) q "
                "WHERE a.search_vector @@ q AND a.duplicate_of IS NULL "
                "ORDER BY score DESC, a.rowid LIMIT %s OFFSET %s",
                (
                    f"StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords=32, MinWords=12, MaxFragments=2, "
                    "FragmentDelimiter=' … '",
                    tsquery,
                    limit,
                    offset,
                ),
            )
        except StoreError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        return [SearchHit(row_to_article(row), float(row["score"]), row["snippet"]) for row in rows]

    def candidates_sharing_terms(self, terms: Sequence[str], exclude: Sequence[str], limit: int) -> list[Article]:
        if not terms:
            return []
        tsquery = " | ".join(_lexeme(term) for term in terms)
        rows = self._read(
            f"SELECT {self._A_COLUMNS} FROM articles a, to_tsquery('simple', %s) q "
            "WHERE a.search_vector @@ q AND a.duplicate_of IS NULL AND NOT (a.id = ANY(%s)) "
            "ORDER BY ts_rank(a.search_vector, q) DESC, a.rowid LIMIT %s",
            (tsquery, list(exclude), limit),
        )
        return [row_to_article(row) for row in rows]

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        frequencies = {}
        for term in terms:
            count = self._read(
                "SELECT count(*) AS n FROM articles WHERE search_vector @@ to_tsquery('simple', %s)", (_lexeme(term),)
            )[0]["n"]
            if count:
                frequencies[term] = count
        return frequencies

    def popular(self, limit: int = 10, since: datetime | None = None) -> list[ArticleCount]:
        since_day = (since or datetime.now(timezone.utc) - timedelta(days=36500)).date().isoformat()
        rows = self._read(
            "SELECT COALESCE(a.duplicate_of, a.id) AS canonical, SUM(v.views) AS views FROM page_views v "
            "JOIN articles a ON a.id = v.article_id WHERE v.day >= %s GROUP BY canonical "
            "ORDER BY views DESC, canonical LIMIT %s",
            (since_day, limit),
        )
        articles = {a.id: a for a in self.get_articles([row["canonical"] for row in rows])}
        return [ArticleCount(articles[row["canonical"]], int(row["views"])) for row in rows if row["canonical"] in articles]

    # -- stories ----------------------------------------------------------------------------------------------
    _STORY_COLUMNS = ("s.id, s.title, s.first_seen, s.last_seen, s.article_count, s.top_terms, s.top_entities, "
                      "s.volume_per_day, s.volume_per_hour, s.archived, "
                      "(SELECT count(DISTINCT a.site) FROM articles a WHERE a.story_id = s.id "
                      "AND a.duplicate_of IS NULL) AS source_count")

    @staticmethod
    def _story_from_row(row) -> StoryRow:  # noqa: ANN001
        return StoryRow(
            id=row["id"], title=row["title"], first_seen=parse_iso(row["first_seen"]),
            last_seen=parse_iso(row["last_seen"]), article_count=row["article_count"],
            top_terms=json.loads(row["top_terms"]), top_entities=json.loads(row["top_entities"]),
            volume_per_day=json.loads(row["volume_per_day"]), volume_per_hour=json.loads(row["volume_per_hour"]),
            archived=bool(row["archived"]), source_count=row["source_count"],
        )

    def get_story(self, story_id: str) -> StoryRow:
        rows = self._read(f"SELECT {self._STORY_COLUMNS} FROM stories s WHERE s.id = %s", (story_id,))
        if not rows:
            raise NotFoundError(f"no story with id {story_id!r}")
        return self._story_from_row(rows[0])

    def top_stories(self, limit: int = 20, since: datetime | None = None) -> list[StoryRow]:
        where, params = ("WHERE s.last_seen >= %s", [iso(since)]) if since else ("", [])
        rows = self._read(
            f"SELECT {self._STORY_COLUMNS} FROM stories s {where} "
            "ORDER BY s.article_count DESC, s.last_seen DESC, s.id LIMIT %s",
            params + [limit],
        )
        return [self._story_from_row(row) for row in rows]

    def story_articles(self, story_id: str, limit: int = 200) -> list[Article]:
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM articles WHERE story_id = %s AND duplicate_of IS NULL "
            "ORDER BY sort_time, rowid LIMIT %s",
            (story_id, limit),
        )
        return [row_to_article(row) for row in rows]

    # -- duplicates -------------------------------------------------------------------------------------------
    def dedup_rows(self) -> Iterable[tuple[str, bytes, datetime | None, str | None]]:
        rows = self._read(
            "SELECT s.article_id, s.signature, s.published_at, a.duplicate_of FROM dedup_signatures s "
            "JOIN articles a ON a.id = s.article_id ORDER BY s.position"
        )
        return [(r["article_id"], bytes(r["signature"]), parse_iso(r["published_at"]), r["duplicate_of"]) for r in rows]

    def copies_of(self, article_id: str) -> list[Article]:
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM articles WHERE duplicate_of = %s ORDER BY sort_time, rowid", (article_id,)
        )
        return [row_to_article(row) for row in rows]

    # -- sources and checkpoints ------------------------------------------------------------------------------
    _SOURCE_FIELDS = ("url", "kind", "title", "every_seconds", "etag", "last_modified", "last_checked",
                      "last_success", "last_error", "error_count", "next_due", "articles")

    def get_checkpoint(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM checkpoints WHERE key = %s", (key,))
        return rows[0]["value"] if rows else None

    def known_urls(self, urls: Sequence[str]) -> set[str]:
        # A URL is known as the page fetched (url) or as the page's own canonical URL.
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return set()
        rows = self._read(
            "SELECT canonical_url, url FROM articles WHERE canonical_url = ANY(%s) OR url = ANY(%s)", (wanted, wanted)
        )
        chosen = set(wanted)
        return {value for row in rows for value in (row["canonical_url"], row["url"]) if value in chosen}

    def save_source(self, source: SourceRecord) -> None:
        values = [iso(v) if isinstance(v, datetime) else v for v in (getattr(source, f) for f in self._SOURCE_FIELDS)]
        self._write(lambda db: db.execute(
            f"INSERT INTO sources ({', '.join(self._SOURCE_FIELDS)}) VALUES ({', '.join(['%s'] * len(values))}) "
            f"ON CONFLICT (url) DO UPDATE SET "
            + ", ".join(f"{f} = excluded.{f}" for f in self._SOURCE_FIELDS if f != "url"),
            values,
        ))

    def _source_from_row(self, row) -> SourceRecord:  # noqa: ANN001
        values = {f: row[f] for f in self._SOURCE_FIELDS}
        for key in ("last_checked", "last_success", "next_due"):
            values[key] = parse_iso(values[key])
        return SourceRecord(**values)

    def get_source(self, url: str) -> SourceRecord:
        rows = self._read(f"SELECT {', '.join(self._SOURCE_FIELDS)} FROM sources WHERE url = %s", (url,))
        if not rows:
            raise NotFoundError(f"no source {url!r}")
        return self._source_from_row(rows[0])

    def list_sources(self) -> list[SourceRecord]:
        rows = self._read(f"SELECT {', '.join(self._SOURCE_FIELDS)} FROM sources ORDER BY url")
        return [self._source_from_row(row) for row in rows]

    def remove_source(self, url: str) -> None:
        def delete(db) -> None:  # noqa: ANN001
            if db.execute("DELETE FROM sources WHERE url = %s", (url,)).rowcount == 0:
                raise NotFoundError(f"no source {url!r}")

        self._write(delete)

    # -- entities ---------------------------------------------------------------------------------------------
    def top_entities(self, limit: int = 20, type: str | None = None) -> list[EntityCount]:
        where = "WHERE a.duplicate_of IS NULL" + (" AND e.type = %s" if type else "")
        rows = self._read(
            "SELECT e.name, e.type, count(*) AS n FROM article_entities e JOIN articles a ON a.id = e.article_id "
            f"{where} GROUP BY e.name, e.type ORDER BY n DESC, e.name LIMIT %s",
            ([type] if type else []) + [limit],
        )
        return [EntityCount(r["name"], r["type"], r["n"]) for r in rows]

    def entity(self, name: str) -> list[EntityCount]:
        rows = self._read(
            "SELECT e.name, e.type, count(*) AS n FROM article_entities e JOIN articles a ON a.id = e.article_id "
            "WHERE e.name = %s AND a.duplicate_of IS NULL GROUP BY e.name, e.type ORDER BY n DESC",
            (name,),
        )
        if not rows:
            raise NotFoundError(f"no article mentions {name!r}")
        return [EntityCount(r["name"], r["type"], r["n"]) for r in rows]

    def articles_mentioning(self, name: str, limit: int = 20, offset: int = 0) -> list[Article]:
        rows = self._read(
            f"SELECT DISTINCT {self._A_COLUMNS}, a.sort_time, a.rowid FROM article_entities e "
            "JOIN articles a ON a.id = e.article_id WHERE e.name = %s AND a.duplicate_of IS NULL "
            "ORDER BY a.sort_time DESC, a.rowid DESC LIMIT %s OFFSET %s",
            (name, limit, offset),
        )
        return [row_to_article(row) for row in rows]

    def cooccurring_entities(self, name: str, limit: int = 12) -> list[EntityCount]:
        rows = self._read(
            "SELECT other.name AS name, other.type AS type, count(DISTINCT other.article_id) AS n FROM article_entities mine "
            "JOIN article_entities other ON other.article_id = mine.article_id AND other.name <> mine.name "
            "JOIN articles a ON a.id = mine.article_id "
            "WHERE mine.name = %s AND a.duplicate_of IS NULL GROUP BY other.name, other.type "
            "ORDER BY n DESC, other.name LIMIT %s",
            (name, limit),
        )
        return [EntityCount(r["name"], r["type"], r["n"]) for r in rows]

    def entity_volume(self, name: str) -> list[DayCount]:
        rows = self._read(
            "SELECT substr(a.sort_time, 1, 10) AS day, count(DISTINCT a.id) AS n FROM article_entities e "
            "JOIN articles a ON a.id = e.article_id WHERE e.name = %s AND a.duplicate_of IS NULL "
            "GROUP BY day ORDER BY day",
            (name,),
        )
        return [DayCount(r["day"], r["n"]) for r in rows]

    def stats(self) -> StoreStats:
        row = self._read(
            "SELECT count(*) AS n, count(*) FILTER (WHERE duplicate_of IS NULL) AS canonical, "
            "count(DISTINCT site) AS sites, count(published_at) AS dated FROM articles"
        )[0]
        views = self._read("SELECT COALESCE(sum(views), 0) AS v FROM page_views")[0]["v"]
        languages = {
            (r["language"] or "unknown"): r["n"]
            for r in self._read("SELECT language, count(*) AS n FROM articles GROUP BY language ORDER BY n DESC")
        }
        return StoreStats(row["n"], row["canonical"], row["sites"], row["dated"], int(views), languages)

    def article_count(self) -> int:
        return self._read("SELECT count(*) AS n FROM articles")[0]["n"]

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                try:
                    connection.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            self._connections.clear()
        self._local = threading.local()
