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

from ..errors import (
    MigrationError,
    MissingExtraError,
    NotFoundError,
    QueryError,
    StoreError,
)
from ..model import Article
from ..search import Query, Term, parse_query
from .base import (
    ArticleCount,
    BatchExtras,
    EmbeddingRecord,
    EntityCount,
    FacetCount,
    SearchFacets,
    SearchHit,
    Store,
    StoreStats,
    UpsertResult,
)
from .filters import (
    ENTITY_BOOST,
    ENTITY_BOOST_WINDOW,
    entity_boost_names,
    filter_conditions,
    like_escaped,
    opening_words,
)
from .rows import (
    ARTICLE_COLUMNS,
    article_row,
    iso,
    row_to_article,
)
from .shared import SharedQueries
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
    ("0005_subscriptions", """
        CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            created_at TEXT NOT NULL,
            webhook_url TEXT,
            secret TEXT,
            allow_private_networks INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE subscription_deliveries (
            subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
            article_id TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            last_http_status INTEGER,
            created_at TEXT,
            delivered_at TEXT,
            position BIGSERIAL,
            PRIMARY KEY (subscription_id, article_id)
        );
        CREATE INDEX subscription_deliveries_due ON subscription_deliveries (status, next_attempt_at);
        CREATE TABLE subscription_delivery_log (
            id BIGSERIAL PRIMARY KEY,
            subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
            article_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            at TEXT NOT NULL,
            http_status INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL
        );
        CREATE INDEX subscription_delivery_log_subscription ON subscription_delivery_log (subscription_id, id);
        """),
    # Vectors of the semantic extra (newsloom.semantic); position is what readers catch up from (renewed on update).
    ("0007_embeddings", """
        CREATE TABLE article_embeddings (
            article_id TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BYTEA NOT NULL,
            text_hash TEXT NOT NULL,
            position BIGSERIAL NOT NULL
        );
        CREATE INDEX article_embeddings_position ON article_embeddings (model, position);
        """),
    # Ids of stories merged into another, so that an absorbed story's links keep working (followed by get_story).
    ("0008_story_redirects", """
        CREATE TABLE story_redirects (
            id TEXT PRIMARY KEY,
            merged_into TEXT NOT NULL
        );
        CREATE INDEX story_redirects_target ON story_redirects (merged_into);
        """),
]


def _insert_embeddings(db: Any, records: Sequence[EmbeddingRecord]) -> None:
    # In id order, so two workers saving overlapping batches cannot deadlock; an update takes a new position so
    # readers catching up by position see it.
    if not records:
        return
    with db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO article_embeddings (article_id, model, dim, vector, text_hash) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (article_id) DO UPDATE SET model = EXCLUDED.model, dim = EXCLUDED.dim, "
            "vector = EXCLUDED.vector, text_hash = EXCLUDED.text_hash, "
            "position = nextval(pg_get_serial_sequence('article_embeddings', 'position'))",
            [(r.article_id, r.model, r.dim, r.vector, r.text_hash) for r in sorted(records, key=lambda r: r.article_id)],
        )


def _lexeme(token: str) -> str:
    # Tokens are \w+ runs, so they never hold a quote; quoting them makes tsquery take them literally.
    return "'" + token.replace("'", "''").replace("\\", "") + "'"


def _tsquery_term(term: Term) -> str:
    return "(" + " <-> ".join(_lexeme(token) for token in term.tokens) + ")"


def tsquery_of_words(query: Query) -> str | None:
    """The tsquery text of the query's words and exclusions; None for a query of filters only."""
    clauses = ["(" + " | ".join(_tsquery_term(t) for t in alternatives) + ")" for alternatives in query.clauses]
    if not clauses:
        return None
    return " & ".join(clauses) + "".join(f" & !{_tsquery_term(excluded)}" for excluded in query.excluded)


def tsquery_of_exclusions(query: Query) -> str | None:
    """A tsquery matching any excluded term (a query of filters only excludes with NOT @@)."""
    return " | ".join(_tsquery_term(t) for t in query.excluded) or None


def to_tsquery_text(text: str) -> str:
    """The ``to_tsquery('simple', ...)`` expression of a user query in newsloom's query language ("" for filters only)."""
    return tsquery_of_words(parse_query(text)) or ""


class PostgresStore(SharedQueries, Store):
    """A newsloom store in PostgreSQL (``postgresql://user@host:port/db``). Needs the ``postgres`` extra."""

    PLACEHOLDER = "%s"
    INSERT_ORDER = "position"  # BIGSERIAL: PostgreSQL has no rowid

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
                # Old links to the absorbed story (and to stories it absorbed before) lead to the survivor.
                db.execute("UPDATE story_redirects SET merged_into = %s WHERE merged_into = %s", (survivor, absorbed))
                db.execute("DELETE FROM story_redirects WHERE id = %s", (absorbed,))
                db.execute("INSERT INTO story_redirects (id, merged_into) VALUES (%s, %s)", (absorbed, survivor))
            _insert_embeddings(db, extras.embeddings)
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
        parsed = parse_query(query)
        source, params = self._matching(parsed)
        by_relevance = parsed.has_words and parsed.sort == "relevance"
        # ts_rank_cd over the title-A/body-B vector; without words (or with sort:date) the newest come first.
        score = "ts_rank_cd(a.search_vector, q, 1)" if by_relevance else "0.0"
        order = "score DESC, a.rowid" if by_relevance else "a.sort_time DESC, a.rowid DESC"
        window = max(ENTITY_BOOST_WINDOW, offset + limit) if by_relevance else limit
        try:
            rows = self._read(
                f"SELECT a.rowid AS position, {score} AS score {source} ORDER BY {order} LIMIT %s OFFSET %s",
                [*params, window, 0 if by_relevance else offset],
            )
            ranked = [(row["position"], float(row["score"])) for row in rows]
            if by_relevance:
                ranked = self._boost_named_entities(parsed, ranked)[offset : offset + limit]
            return self._hits(parsed, ranked)
        except StoreError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc

    def _matching(self, parsed: Query) -> tuple[str, list[object]]:
        """FROM and WHERE of the query's canonical matches (alias ``a``; ``q`` is the tsquery when there are words)."""
        conditions, params = filter_conditions(parsed, "%s")
        match = tsquery_of_words(parsed)
        if match is not None:
            source = "FROM articles a, to_tsquery('simple', %s) q WHERE a.search_vector @@ q"
            params = [match, *params]
        else:
            source = "FROM articles a WHERE TRUE"
            excluded = tsquery_of_exclusions(parsed)
            if excluded is not None:
                conditions.append("NOT (a.search_vector @@ to_tsquery('simple', %s))")
                params.append(excluded)
        where = "".join(f" AND {condition}" for condition in ["a.duplicate_of IS NULL", *conditions])
        return source + where, params

    def _boost_named_entities(self, parsed: Query, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Articles mentioning an entity the query names score (1 + ENTITY_BOOST) times more (as in the SQLite store)."""
        names = entity_boost_names(parsed)
        if not names or not ranked:
            return ranked
        named = " OR ".join(["lower(e.name) = %s OR lower(e.name) LIKE %s ESCAPE '\\'"] * len(names))
        rows = self._read(
            "SELECT DISTINCT a.rowid AS position FROM articles a JOIN article_entities e ON e.article_id = a.id "
            f"WHERE a.rowid = ANY(%s) AND ({named})",
            [[position for position, _ in ranked], *(v for name in names for v in (name, "% " + like_escaped(name)))],
        )
        boosted = {row["position"] for row in rows}
        rescored = [(p, s * (1.0 + ENTITY_BOOST) if p in boosted else s) for p, s in ranked]
        return sorted(rescored, key=lambda item: -item[1])  # stable: equal scores keep the database's order

    def _hits(self, parsed: Query, ranked: list[tuple[int, float]]) -> list[SearchHit]:
        """The articles at these rowids, in this order, with snippets around the matched words."""
        if not ranked:
            return []
        match = tsquery_of_words(parsed)
        snippet = "ts_headline('simple', a.body, to_tsquery('simple', %s), %s)" if match else "NULL"
        options = (f"StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords=32, MinWords=12, MaxFragments=2, "
                   "FragmentDelimiter=' … '")
        rows = self._read(
            f"SELECT a.rowid AS position, {self._A_COLUMNS}, {snippet} AS snippet FROM articles a "
            "WHERE a.rowid = ANY(%s)",
            [*([match, options] if match else []), [position for position, _ in ranked]],
        )
        by_position = {row["position"]: row for row in rows}
        return [
            SearchHit(row_to_article(by_position[p]), score, by_position[p]["snippet"] or opening_words(by_position[p]["body"]))
            for p, score in ranked if p in by_position
        ]

    def search_facets(self, query: str, limit: int = 10) -> SearchFacets:
        parsed = parse_query(query)
        source, params = self._matching(parsed)
        matching = f"SELECT a.rowid {source}"

        def counts(expression: str) -> list[FacetCount]:
            rows = self._read(
                f"SELECT {expression} AS value, count(*) AS n FROM articles a WHERE a.rowid IN ({matching}) "
                f"AND {expression} IS NOT NULL GROUP BY 1 ORDER BY n DESC, value LIMIT %s",
                [*params, limit],
            )
            return [FacetCount(row["value"], row["n"]) for row in rows]

        try:
            entities = self._read(
                "SELECT e.name, e.type, count(*) AS n FROM article_entities e JOIN articles a ON a.id = e.article_id "
                f"WHERE a.rowid IN ({matching}) GROUP BY e.name, e.type ORDER BY n DESC, e.name LIMIT %s",
                [*params, limit],
            )
            return SearchFacets(
                sites=counts("a.site"), languages=counts("lower(a.language)"),
                entities=[EntityCount(row["name"], row["type"], row["n"]) for row in entities],
                months=sorted(counts("substr(a.sort_time, 1, 7)"), key=lambda facet: facet.value, reverse=True),
            )
        except StoreError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc

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

    # -- sources (the rest of stories, duplicates, sources and entities is in shared.py) -------------
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

    # -- embeddings (semantic.py) -----------------------------------------------------------------------------
    def save_embeddings(self, records: Sequence[EmbeddingRecord]) -> None:
        if records:
            self._write(lambda db: _insert_embeddings(db, records))

    def embeddings_after(self, model: str, position: int, limit: int) -> list[tuple[int, str, bytes]]:
        rows = self._read(
            "SELECT position, article_id, vector FROM article_embeddings WHERE model = %s AND position > %s "
            "ORDER BY position LIMIT %s",
            (model, position, limit),
        )
        return [(row["position"], row["article_id"], bytes(row["vector"])) for row in rows]

    def embedding_hashes(self, model: str, article_ids: Sequence[str]) -> dict[str, str]:
        if not article_ids:
            return {}
        rows = self._read(
            "SELECT article_id, text_hash FROM article_embeddings WHERE model = %s AND article_id = ANY(%s)",
            (model, list(dict.fromkeys(article_ids))),
        )
        return {row["article_id"]: row["text_hash"] for row in rows}

    def articles_without_embedding(self, model: str) -> list[str]:
        rows = self._read(
            "SELECT a.id FROM articles a LEFT JOIN article_embeddings e ON e.article_id = a.id AND e.model = %s "
            "WHERE a.duplicate_of IS NULL AND e.article_id IS NULL ORDER BY a.rowid",
            (model,),
        )
        return [row["id"] for row in rows]

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                try:
                    connection.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            self._connections.clear()
        self._local = threading.local()
