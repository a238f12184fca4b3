"""SQLite store: the embedded default. One file, WAL mode, FTS5 full-text index, named migrations.

Concurrency: WAL lets readers run while one writer commits, so the reader never waits on an ingest. Each thread
gets its own connection; writes take the write lock up front (BEGIN IMMEDIATE) so two writers queue on the
busy timeout instead of failing half-way through a batch.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from ..errors import MigrationError, NotFoundError, QueryError, StoreError
from ..model import Article
from ..search import Query, fts5_excluded, fts5_match, parse_query
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
    EXACT_MATCH_LIMIT,
    TOP_DOCS_MIN_DOCS,
    TOP_DOCS_PER_TERM,
    entity_boost_names,
    estimated_matches,
    filter_conditions,
    has_indexed_filter,
    like_escaped,
)
from .filters import opening_words as _opening_words
from .rows import (
    ARTICLE_COLUMNS,
    article_row,
    iso,
)
from .rows import row_to_article as _row_to_article
from .shared import SharedQueries

__all__ = ["SQLiteStore", "MIGRATIONS", "MATCH_START", "MATCH_END"]

T = TypeVar("T")

# Snippet markers around matched terms: control characters never survive extraction, so they cannot be forged by
# page text; the web layer escapes the snippet and then turns them into <mark>.
MATCH_START = "\x02"
MATCH_END = "\x03"

_ARTICLE_COLUMNS = ", ".join(ARTICLE_COLUMNS)
_A_COLUMNS = ", ".join("a." + column for column in ARTICLE_COLUMNS)

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_articles",
        """
        CREATE TABLE articles (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            url TEXT,
            canonical_url TEXT,
            site TEXT,
            title TEXT NOT NULL,
            author TEXT,
            published_at TEXT,
            published_at_source TEXT NOT NULL DEFAULT 'unknown',
            published_at_confidence REAL NOT NULL DEFAULT 0,
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
            content_hash TEXT NOT NULL
        );
        CREATE INDEX articles_sort_time ON articles (sort_time DESC);
        CREATE INDEX articles_site ON articles (site, sort_time DESC);
        CREATE INDEX articles_canonical_url ON articles (canonical_url);
        CREATE INDEX articles_duplicate_of ON articles (duplicate_of);
        CREATE INDEX articles_story ON articles (story_id);

        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, body, content='articles', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
        END;
        CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
        END;
        CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
            INSERT INTO articles_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
        END;
        CREATE VIRTUAL TABLE articles_vocab USING fts5vocab(articles_fts, 'row');

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
            views INTEGER NOT NULL,
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
            position INTEGER PRIMARY KEY,
            article_id TEXT NOT NULL UNIQUE,
            signature BLOB NOT NULL,
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
            PRIMARY KEY (subscription_id, article_id)
        );
        CREATE INDEX subscription_deliveries_due ON subscription_deliveries (status, next_attempt_at);
        CREATE TABLE subscription_delivery_log (
            id INTEGER PRIMARY KEY,
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
    # Search at a million articles: for each frequent word, its best-scoring articles (score = -bm25 of the word
    # alone, as search ranks), filled by refresh_search_index(). Articles whose text changed since, or that reuse a
    # listed rowid, are recorded in search_changed and ranked live, so a list is never trusted for them.
    # articles_duplicates and articles_search_filters check ranked rowids (duplicate? passes the filters?) without
    # reading article rows, whose later columns (duplicate_of, sort_time) sit after the body, often on overflow pages;
    # article_entities_name_article gives an entity's article ids without reading entity rows.
    ("0006_search_indexes", """
        CREATE INDEX articles_duplicates ON articles (rowid) WHERE duplicate_of IS NOT NULL;
        CREATE INDEX article_entities_name_article ON article_entities (name, article_id);
        CREATE INDEX articles_search_filters ON articles (
            rowid, duplicate_of, site, language, author, story_id, sort_time, id
        );
        CREATE TABLE search_top_terms (
            term TEXT PRIMARY KEY,
            docs INTEGER NOT NULL,  -- articles matching the word when its list was built
            built_through INTEGER NOT NULL,
            built_at TEXT NOT NULL
        );
        CREATE INDEX search_top_terms_built ON search_top_terms (built_through);
        CREATE TABLE search_top_docs (
            term TEXT NOT NULL,
            score REAL NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (term, score DESC, position)
        ) WITHOUT ROWID;
        CREATE TABLE search_changed (position INTEGER PRIMARY KEY);
        CREATE TRIGGER search_changed_update AFTER UPDATE OF title, body ON articles BEGIN
            INSERT OR IGNORE INTO search_changed (position) VALUES (new.rowid);
        END;
        CREATE TRIGGER search_changed_delete AFTER DELETE ON articles BEGIN
            INSERT OR IGNORE INTO search_changed (position) VALUES (old.rowid);
        END;
        CREATE TRIGGER search_changed_reused AFTER INSERT ON articles
        WHEN new.rowid <= (SELECT coalesce(max(built_through), 0) FROM search_top_terms) BEGIN
            INSERT OR IGNORE INTO search_changed (position) VALUES (new.rowid);
        END;
        """),
    # Vectors of the semantic extra (newsloom.semantic); rowid is the position readers catch up from.
    ("0007_embeddings", """
        CREATE TABLE article_embeddings (
            article_id TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            text_hash TEXT NOT NULL
        );
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


_MMAP_BYTES = 1 << 30  # address space, not memory: pages are read in on demand and shared between connections


class SQLiteStore(SharedQueries, Store):
    """The default store: one SQLite file (or ``":memory:"`` for a private, single-connection store)."""

    def __init__(self, path: str | Path, *, migrate: bool = True, busy_timeout_ms: int = 30_000) -> None:
        self.path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._memory = self.path == ":memory:"
        if self._memory:
            # An in-memory database lives in one connection; share it, serialised by a lock.
            self._shared = self._open()
            self._shared_lock = threading.RLock()
        if migrate:
            self.migrate()

    # -- connections ------------------------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_ms / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        connection.execute("PRAGMA foreign_keys = ON")
        if not self._memory:
            try:
                connection.execute("PRAGMA journal_mode = WAL")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path!r} is not a newsloom SQLite database: {exc}") from exc
            connection.execute("PRAGMA synchronous = NORMAL")
            # Reads through a memory map share the OS page cache across connections instead of a system call per
            # page; it matters once the index outgrows SQLite's 2 MB default cache (p95 -20% at 1M articles).
            connection.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    @property
    def _db(self) -> sqlite3.Connection:
        if self._memory:
            return self._shared
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
        return connection

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            if self._memory:
                with self._shared_lock:
                    return self._db.execute(sql, params).fetchall()
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc

    def _write(self, work: Callable[[sqlite3.Connection], object]) -> object:
        """Run ``work`` in one IMMEDIATE transaction: all of it is committed, or none of it."""
        lock = self._shared_lock if self._memory else None
        if lock:
            lock.acquire()
        try:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a write transaction: {exc}") from exc
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from exc
        finally:
            if lock:
                lock.release()

    # -- schema -----------------------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        def apply(db: sqlite3.Connection) -> list[str]:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
            applied = []
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                try:
                    for statement in _split_sql(sql):
                        db.execute(statement)
                except sqlite3.Error as exc:
                    raise MigrationError(f"migration {name} failed and was rolled back: {exc}") from exc
                db.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (name, datetime.now(timezone.utc).isoformat()),
                )
                applied.append(name)
            return applied

        return self._write(apply)  # type: ignore[return-value]

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self._read("SELECT name FROM schema_migrations ORDER BY name")]

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
        batch = list(articles)
        if not batch and not checkpoints and not extras.signatures and not extras.repointed and not extras.stories:
            return UpsertResult()
        now = datetime.now(timezone.utc).isoformat()

        def apply(db: sqlite3.Connection) -> UpsertResult:
            result = UpsertResult()
            for article in batch:
                row = article_row(article)
                existing = db.execute("SELECT content_hash FROM articles WHERE id = ?", (article.id,)).fetchone()
                if existing is not None and existing[0] == row["content_hash"]:
                    result.unchanged += 1
                    continue
                if existing is None:
                    row["ingested_at"] = now
                    row["sort_time"] = row["published_at"] or now
                    columns = ", ".join(row)
                    db.execute(f"INSERT INTO articles ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
                    result.inserted += 1
                else:
                    # Keep the first ingest time: re-ingesting a page must not move it to the top of "latest".
                    assignments = ", ".join(f"{column} = ?" for column in row if column != "id")
                    db.execute(
                        f"UPDATE articles SET {assignments}, sort_time = COALESCE(?, ingested_at) WHERE id = ?",
                        [v for k, v in row.items() if k != "id"] + [row["published_at"], article.id],
                    )
                    db.execute("DELETE FROM article_entities WHERE article_id = ?", (article.id,))
                    result.updated += 1
                db.executemany(
                    "INSERT OR REPLACE INTO article_entities (article_id, name, type, count) VALUES (?, ?, ?, ?)",
                    [(article.id, e.name, e.type, e.count) for e in article.entities],
                )
            for key, value in checkpoints.items():
                db.execute(
                    "INSERT INTO checkpoints (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (key, value, now),
                )
            for article_id, signature, published_at in extras.signatures:
                db.execute(
                    "INSERT INTO dedup_signatures (article_id, signature, published_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (article_id) DO NOTHING",
                    (article_id, signature, iso(published_at)),
                )
            for article_id, duplicate_of in extras.repointed.items():
                db.execute("UPDATE articles SET duplicate_of = ? WHERE id = ?", (duplicate_of, article_id))
            for story in extras.stories:
                values = (
                    story.id, story.title, iso(story.first_seen), iso(story.last_seen), story.article_count,
                    json.dumps(story.top_terms), json.dumps(story.top_entities), json.dumps(story.volume_per_day),
                    json.dumps(story.volume_per_hour), int(story.archived), now,
                )
                db.execute(
                    "INSERT INTO stories (id, title, first_seen, last_seen, article_count, top_terms, top_entities, "
                    "volume_per_day, volume_per_hour, archived, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET title = excluded.title, first_seen = excluded.first_seen, "
                    "last_seen = excluded.last_seen, article_count = excluded.article_count, "
                    "top_terms = excluded.top_terms, top_entities = excluded.top_entities, "
                    "volume_per_day = excluded.volume_per_day, volume_per_hour = excluded.volume_per_hour, "
                    "archived = excluded.archived, updated_at = excluded.updated_at",
                    values,
                )
            for absorbed, survivor in extras.merged_stories.items():
                db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (survivor, absorbed))
                db.execute("DELETE FROM stories WHERE id = ?", (absorbed,))
                # Old links to the absorbed story (and to stories it absorbed before) lead to the survivor.
                db.execute("UPDATE story_redirects SET merged_into = ? WHERE merged_into = ?", (survivor, absorbed))
                db.execute("DELETE FROM story_redirects WHERE id = ?", (absorbed,))
                db.execute("INSERT INTO story_redirects (id, merged_into) VALUES (?, ?)", (absorbed, survivor))
            _insert_embeddings(db, extras.embeddings)
            return result

        return self._write(apply)  # type: ignore[return-value]

    def record_view(self, article_id: str, at: datetime | None = None) -> None:
        day = (at or datetime.now(timezone.utc)).date().isoformat()
        self._write(
            lambda db: db.execute(
                "INSERT INTO page_views (article_id, day, views) VALUES (?, ?, 1) "
                "ON CONFLICT (article_id, day) DO UPDATE SET views = views + 1",
                (article_id, day),
            )
        )

    # -- reads ------------------------------------------------------------------------------------------------
    def get_article(self, article_id: str) -> Article:
        rows = self._read(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,))
        if not rows:
            raise NotFoundError(f"no article with id {article_id!r}")
        return _row_to_article(rows[0])

    def get_articles(self, article_ids: Sequence[str]) -> list[Article]:
        if not article_ids:
            return []
        placeholders = ", ".join("?" * len(article_ids))
        rows = self._read(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({placeholders})", list(article_ids))
        by_id = {row["id"]: _row_to_article(row) for row in rows}
        return [by_id[i] for i in article_ids if i in by_id]

    def latest_articles(self, limit: int = 20, offset: int = 0, site: str | None = None) -> list[Article]:
        where = "duplicate_of IS NULL" + (" AND site = ?" if site else "")
        params: list[object] = [site] if site else []
        rows = self._read(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE {where} ORDER BY sort_time DESC, rowid DESC LIMIT ? OFFSET ?",
            params + [limit, offset],
        )
        return [_row_to_article(row) for row in rows]

    def search(self, query: str, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        parsed = parse_query(query)
        try:
            if parsed.has_words and parsed.sort == "relevance":
                return self._search_by_relevance(parsed, limit, offset)
            return self._search_by_date(parsed, limit, offset)
        except StoreError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc

    def _matching(self, parsed: Query, *, walk_by_date: bool = False) -> tuple[str, list[object]]:
        """FROM and WHERE of the query's canonical matches (alias ``a``), and their parameters. ``walk_by_date``
        reads articles (by an index on time or a filter) and tests each against the match set ("+" keeps the
        planner from fetching every match by rowid instead)."""
        conditions, params = filter_conditions(parsed, "?")
        match = fts5_match(parsed)
        if match is not None and walk_by_date:
            source = "FROM articles a WHERE +a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
            params = [match, *params]
        elif match is not None:
            source = "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid WHERE articles_fts MATCH ?"
            params = [match, *params]
        elif parsed.filters.entities:
            # From the entity's articles to their rowids and on to the covering filter index: every condition and the
            # sort key are read from the index, not from article rows (sort_time lies after the body).
            source = ("FROM articles a INDEXED BY articles_search_filters WHERE a.rowid IN (SELECT x.rowid FROM articles x "
                      "WHERE x.id IN (SELECT e.article_id FROM article_entities e WHERE e.name = ?))")
            params = [parsed.filters.entities[0], *params]
            excluded = fts5_excluded(parsed)
            if excluded is not None:
                conditions.append("a.rowid NOT IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
                params.append(excluded)
        else:
            source = "FROM articles a WHERE 1 = 1"
            excluded = fts5_excluded(parsed)
            if excluded is not None:  # no words: exclusions drop rows by the index, without a MATCH to rank
                conditions.append("a.rowid NOT IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
                params.append(excluded)
        # "+" keeps the planner off the duplicate_of index: nearly every row is canonical, so that index would visit
        # them all, where the site, entity or full-text index narrows the rows first.
        where = "".join(f" AND {condition}" for condition in ["+a.duplicate_of IS NULL", *conditions])
        return source + where, params

    def _search_by_date(self, parsed: Query, limit: int, offset: int) -> list[SearchHit]:
        # Many matches: walk the articles newest first and keep those in the match set (found within a few rows);
        # few matches: read them all and sort. Crossover where both read about as many rows: matches^2 ~ articles * k.
        walk = parsed.has_words and self._estimated_matches(parsed) ** 2 > self._last_position() * (offset + limit)
        source, params = self._matching(parsed, walk_by_date=walk)
        rows = self._read(
            f"SELECT a.rowid AS position, 0.0 AS score {source} ORDER BY a.sort_time DESC, a.rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return self._hits(parsed, [(row[0], row[1]) for row in rows])

    def _search_by_relevance(self, parsed: Query, limit: int, offset: int) -> list[SearchHit]:
        # BM25 (title weighs 10x the body) picks a window of the best matches; within it, articles mentioning an
        # entity the query names ("netanyahu", "benjamin netanyahu") move up. A window keeps the boost's cost fixed.
        window = max(ENTITY_BOOST_WINDOW, offset + limit)
        match = fts5_match(parsed)
        assert match is not None
        # A word's list serves broad filters (dates, language, author); under a site, entity or story filter too few
        # listed articles pass (a list is ~0.4% of a frequent word's matches), so the filter's index goes first.
        narrow = parsed.filters.sites or parsed.filters.entities or parsed.filters.stories
        listed = self._best_from_top_docs(parsed, match, window) if self._matches_many(parsed) and not narrow else None
        ranked, floor = listed or (self._best_by_scoring(parsed, match, window), float("-inf"))
        order, scores = self._boosted(parsed, ranked, offset, limit)
        # From a stored list, the window may lack articles that pass the filters but were not listed; each scores at
        # most the floor, boosted at most (1 + ENTITY_BOOST) times: below the page's last score, they change nothing.
        if floor > float("-inf") and len(ranked) < window and (
                len(order) < limit or scores[order[-1]] < (1.0 + ENTITY_BOOST) * floor):
            order, scores = self._boosted(parsed, self._best_by_scoring(parsed, match, window), offset, limit)
        return self._hits(parsed, [(position, scores[position]) for position in order])

    def _boosted(self, parsed: Query, ranked: list[tuple[int, float]], offset: int,
                 limit: int) -> tuple[list[int], dict[int, float]]:
        scores = dict(ranked)
        for position in self._mentioning_named_entities(parsed, list(scores)):
            scores[position] *= 1.0 + ENTITY_BOOST
        return sorted(scores, key=lambda position: -scores[position])[offset : offset + limit], scores

    def _matches_many(self, parsed: Query) -> bool:
        return self._estimated_matches(parsed) > EXACT_MATCH_LIMIT

    def _best_by_scoring(self, parsed: Query, match: str, wanted: int) -> list[tuple[int, float]]:
        """The ``wanted`` best-scoring canonical matches that pass the filters, as (rowid, score), best first."""
        # A selective filter narrows first whatever the words: otherwise the window would widen to every match.
        filter_first = has_indexed_filter(parsed)
        # Ranked inside FTS5 alone; article rows are read only for the window, to drop duplicates and check filters.
        # With filter_first, an index narrows the rows to score (site, entity, story, dates) before BM25 runs; "+"
        # keeps that set a membership test, since a rowid handed to FTS5 one by one costs a doclist seek each.
        restrict, params = "", [match]
        if filter_first:
            conditions, filter_params = filter_conditions(parsed, "?")
            restrict = f" AND +rowid IN (SELECT a.rowid FROM articles a WHERE {' AND '.join(conditions)})"
            params += filter_params
        # BM25 scores every match whatever the LIMIT, so a second pass would score them all again: the window leaves
        # room for duplicates, and with an unindexed filter (author, language; any share may pass) it is every match.
        window = 2 * wanted if filter_first or not parsed.filters else -1
        while True:
            rows = self._read(
                f"SELECT rowid, -bm25(articles_fts, 10.0, 1.0) FROM articles_fts WHERE articles_fts MATCH ?{restrict} "
                "ORDER BY 2 DESC LIMIT ?",
                [*params, window],
            )
            kept = self._passing(parsed, [(row[0], row[1]) for row in rows], wanted, check_filters=not filter_first)
            if len(kept) >= wanted or len(rows) < window or window < 0:
                return kept
            window = max(window * 4, window * wanted * 2 // max(len(kept), 1))

    def _best_from_top_docs(self, parsed: Query, match: str,
                            wanted: int) -> tuple[list[tuple[int, float]], float] | None:
        """A one-word query's best matches from the word's stored best-scoring articles, plus the articles added or
        changed since (scored live), and the floor no unlisted article scores above. Fewer than ``wanted`` when too
        few listed articles pass the filters (the caller decides if that is enough); None when the word has no list."""
        if len(parsed.clauses) != 1 or len(parsed.clauses[0]) != 1 or parsed.clauses[0][0].is_phrase:
            return None
        word = parsed.clauses[0][0].tokens[0]
        built = self._read("SELECT built_through, docs FROM search_top_terms WHERE term = ?", [word])
        if not built:
            return None
        changed = {row[0] for row in self._read("SELECT position FROM search_changed")}
        listed = self._read("SELECT position, score FROM search_top_docs WHERE term = ? ORDER BY score DESC", [word])
        # An unlisted article scores at most the list's last score, unless the list held every match.
        floor = listed[-1][1] if listed and len(listed) < built[0][1] else float("-inf")
        scores = {row[0]: row[1] for row in listed if row[0] not in changed}
        live = "SELECT rowid, -bm25(articles_fts, 10.0, 1.0) FROM articles_fts WHERE articles_fts MATCH ?"
        fresh = self._read(f"{live} AND rowid > ?", [match, built[0][0]])
        if changed:
            fresh += self._read(f"{live} AND +rowid IN (SELECT position FROM search_changed)", [match])
        scores.update((row[0], row[1]) for row in fresh)
        excluded = fts5_excluded(parsed)
        if excluded is not None and scores:
            for chunk in _chunks(list(scores), 5000):
                for row in self._read(f"SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? "
                                      f"AND +rowid IN ({', '.join('?' * len(chunk))})", [excluded, *chunk]):
                    del scores[row[0]]
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        # Only articles scoring at least the floor are surely ahead of every unlisted one.
        return [(position, score) for position, score in self._passing(parsed, ranked, wanted)
                if score >= floor], floor

    def _passing(self, parsed: Query, ranked: list[tuple[int, float]], wanted: int, *,
                 check_filters: bool = True) -> list[tuple[int, float]]:
        """The first ``wanted`` of ``ranked`` (rowid, score) that are canonical articles passing the filters."""
        conditions, params = filter_conditions(parsed, "?") if check_filters else ([], [])
        kept: list[tuple[int, float]] = []
        for chunk in _chunks(ranked, max(2 * wanted, 500)):
            positions = [position for position, _ in chunk]
            marks = ", ".join("?" * len(positions))
            if conditions:
                where = " AND ".join([f"a.rowid IN ({marks})", "a.duplicate_of IS NULL", *conditions])
                passing = {row[0] for row in self._read(
                    f"SELECT a.rowid FROM articles a INDEXED BY articles_search_filters WHERE {where}",
                    [*positions, *params])}
            else:  # ranked rowids are live articles (full-text matches, or listed and not changed since)
                duplicates = {row[0] for row in self._read(
                    "SELECT rowid FROM articles INDEXED BY articles_duplicates "
                    f"WHERE duplicate_of IS NOT NULL AND rowid IN ({marks})", positions)}
                passing = set(positions) - duplicates
            kept += [(position, score) for position, score in chunk if position in passing]
            if len(kept) >= wanted:
                break
        return kept[:wanted]

    def _estimated_matches(self, parsed: Query) -> int:
        if not parsed.has_words:
            return 0
        tokens = {token for clause in parsed.clauses for term in clause for token in term.tokens}
        frequencies = {}
        for token in tokens:  # one lookup each: fts5vocab seeks an equality on term, but scans for IN (...)
            row = self._read("SELECT doc FROM articles_vocab WHERE term = ?", [token])
            frequencies[token] = row[0][0] if row else 0
        return estimated_matches(parsed, frequencies)

    def _last_position(self) -> int:
        return self._read("SELECT coalesce(max(rowid), 0) FROM articles")[0][0]

    def search_index_stale(self, min_docs: int = TOP_DOCS_MIN_DOCS) -> bool:
        """True once the articles added since the last refresh reach a tenth of those it covered (and at least
        half of ``min_docs``), or, before any refresh, once the store is big enough for a word to need a list."""
        newest, built_through = self._read(
            "SELECT (SELECT coalesce(max(rowid), 0) FROM articles), (SELECT max(built_through) FROM search_top_terms)"
        )[0]
        if built_through is None:
            return newest >= min_docs
        return newest - built_through >= max(min_docs // 2, built_through // 10)

    def refresh_search_index(self, progress: Callable[[int, int], None] | None = None, *,
                             min_docs: int = TOP_DOCS_MIN_DOCS, per_term: int = TOP_DOCS_PER_TERM) -> int:
        """Rebuild the stored best-scoring articles of every word found in at least ``min_docs`` articles, which
        one-word searches of frequent words rank instead of every match; returns how many words have a list. Run
        it after large ingests: articles added since are still found (they are ranked live), only more slowly."""
        terms = [(row[0], row[1]) for row in self._read("SELECT term, doc FROM articles_vocab WHERE doc >= ?",
                                                         [min_docs])]

        def clear(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM search_changed")  # every list is rebuilt below, from the text as it is now
            db.execute("DELETE FROM search_top_terms")
            db.execute("DELETE FROM search_top_docs")

        self._write(clear)
        now = datetime.now(timezone.utc).isoformat()
        done = 0
        for chunk in _chunks(terms, 50):  # short write transactions, so an ingest never waits long on a refresh
            def rebuild(db: sqlite3.Connection, chunk: list[tuple[str, int]] = chunk) -> None:
                built_through = db.execute("SELECT coalesce(max(rowid), 0) FROM articles").fetchone()[0]
                for term, docs in chunk:
                    rows = db.execute(
                        "SELECT rowid, -bm25(articles_fts, 10.0, 1.0) FROM articles_fts WHERE articles_fts MATCH ? "
                        "ORDER BY 2 DESC LIMIT ?", ['"' + term.replace('"', '""') + '"', per_term]).fetchall()
                    db.executemany("INSERT INTO search_top_docs (term, score, position) VALUES (?, ?, ?)",
                                   [(term, score, position) for position, score in rows])
                    # A short list holds every match; a full one is marked as cut even if the count read earlier is old.
                    matches = len(rows) if len(rows) < per_term else max(docs, len(rows) + 1)
                    db.execute("INSERT INTO search_top_terms (term, docs, built_through, built_at) VALUES (?, ?, ?, ?)",
                               (term, matches, built_through, now))

            self._write(rebuild)
            done += len(chunk)
            if progress is not None:
                progress(done, len(terms))
        return len(terms)

    def _mentioning_named_entities(self, parsed: Query, positions: list[int]) -> set[int]:
        names = entity_boost_names(parsed)
        if not names or not positions:
            return set()
        named = " OR ".join(["lower(e.name) = ? OR lower(e.name) LIKE ? ESCAPE '\\'"] * len(names))
        rows = self._read(
            # CROSS JOIN: from the few ranked articles to their entities, never a scan of every entity row.
            f"SELECT DISTINCT a.rowid FROM articles a CROSS JOIN article_entities e ON e.article_id = a.id "
            f"WHERE a.rowid IN ({', '.join('?' * len(positions))}) AND ({named})",
            [*positions, *(v for name in names for v in (name, "% " + like_escaped(name)))],
        )
        return {row[0] for row in rows}

    def _hits(self, parsed: Query, ranked: list[tuple[int, float]]) -> list[SearchHit]:
        """The articles at these rowids, in this order, with snippets around the matched words."""
        if not ranked:
            return []
        positions = [position for position, _ in ranked]
        marks = ", ".join("?" * len(positions))
        rows = {row["rowid"]: row for row in self._read(
            f"SELECT rowid, {_ARTICLE_COLUMNS} FROM articles WHERE rowid IN ({marks})", positions)}
        match = fts5_match(parsed)
        snippets: dict[int, str] = {}
        if match is not None:
            snippets = {row[0]: row[1] for row in self._read(
                f"SELECT rowid, snippet(articles_fts, 1, '{MATCH_START}', '{MATCH_END}', ' … ', 32) FROM articles_fts "
                f"WHERE articles_fts MATCH ? AND rowid IN ({marks})",
                [match, *positions],
            )}
        return [
            SearchHit(_row_to_article(rows[position]), score,
                      snippets.get(position) or _opening_words(rows[position]["body"]))
            for position, score in ranked if position in rows
        ]

    def search_facets(self, query: str, limit: int = 10) -> SearchFacets:
        parsed = parse_query(query)
        source, params = self._matching(parsed)
        matching = f"SELECT a.rowid {source}"

        def counts(expression: str) -> list[FacetCount]:
            rows = self._read(
                f"SELECT {expression} AS value, count(*) AS n FROM articles a WHERE a.rowid IN ({matching}) "
                "AND value IS NOT NULL GROUP BY value ORDER BY n DESC, value LIMIT ?",
                [*params, limit],
            )
            return [FacetCount(row[0], row[1]) for row in rows]

        try:
            entities = self._read(
                "SELECT e.name, e.type, count(*) AS n FROM article_entities e JOIN articles a ON a.id = e.article_id "
                f"WHERE a.rowid IN ({matching}) GROUP BY e.name, e.type ORDER BY n DESC, e.name LIMIT ?",
                [*params, limit],
            )
            return SearchFacets(
                sites=counts("a.site"), languages=counts("lower(a.language)"),
                entities=[EntityCount(row[0], row[1], row[2]) for row in entities],
                months=sorted(counts("substr(a.sort_time, 1, 7)"), key=lambda facet: facet.value, reverse=True),
            )
        except StoreError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc

    def candidates_sharing_terms(self, terms: Sequence[str], exclude: Sequence[str], limit: int) -> list[Article]:
        if not terms:
            return []
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        # "NOT IN (NULL)" would exclude everything, so an empty exclusion list drops the clause.
        not_excluded = f"AND a.id NOT IN ({', '.join('?' * len(exclude))}) " if exclude else ""
        rows = self._read(
            f"SELECT {_A_COLUMNS} "
            "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
            f"WHERE articles_fts MATCH ? AND a.duplicate_of IS NULL {not_excluded}"
            "ORDER BY bm25(articles_fts, 2.0, 1.0) LIMIT ?",
            [match, *exclude, limit],
        )
        return [_row_to_article(row) for row in rows]

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        if not terms:
            return {}
        placeholders = ", ".join("?" * len(terms))
        rows = self._read(f"SELECT term, doc FROM articles_vocab WHERE term IN ({placeholders})", list(terms))
        return {row[0]: row[1] for row in rows}

    def article_count(self) -> int:
        return self._read("SELECT count(*) FROM articles")[0][0]

    def popular(self, limit: int = 10, since: datetime | None = None) -> list[ArticleCount]:
        since_day = (since or datetime.now(timezone.utc) - timedelta(days=36500)).date().isoformat()
        rows = self._read(
            "SELECT COALESCE(a.duplicate_of, a.id) AS canonical, SUM(v.views) AS views FROM page_views v "
            "JOIN articles a ON a.id = v.article_id WHERE v.day >= ? GROUP BY canonical "
            "ORDER BY views DESC, canonical LIMIT ?",
            (since_day, limit),
        )
        articles = {a.id: a for a in self.get_articles([row[0] for row in rows])}
        return [ArticleCount(articles[row[0]], row[1]) for row in rows if row[0] in articles]

    # -- sources (the rest of stories, duplicates, sources and entities is in shared.py) -------------
    def known_urls(self, urls: Sequence[str]) -> set[str]:
        # A URL is known as the page fetched (url) or as the page's own canonical URL.
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            marks = ', '.join('?' * len(chunk))
            rows = self._read(
                f"SELECT canonical_url, url FROM articles WHERE canonical_url IN ({marks}) OR url IN ({marks})",
                chunk + chunk,
            )
            found.update(value for row in rows for value in (row[0], row[1]) if value in chunk)
        return found

    def stats(self) -> StoreStats:
        row = self._read(
            "SELECT count(*), sum(duplicate_of IS NULL), count(DISTINCT site), sum(published_at IS NOT NULL) FROM articles"
        )[0]
        views = self._read("SELECT COALESCE(sum(views), 0) FROM page_views")[0][0]
        languages = {
            r[0] or "unknown": r[1]
            for r in self._read("SELECT language, count(*) FROM articles GROUP BY language ORDER BY 2 DESC")
        }
        return StoreStats(row[0], row[1] or 0, row[2], row[3] or 0, views, languages)

    def integrity_check(self) -> str:
        """SQLite's own check of the file plus FTS5's check of the index against the articles table."""
        result = self._read("PRAGMA integrity_check")[0][0]
        self._write(lambda db: db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')"))
        return result

    # -- embeddings (semantic.py) -----------------------------------------------------------------------------
    def save_embeddings(self, records: Sequence[EmbeddingRecord]) -> None:
        if records:
            self._write(lambda db: _insert_embeddings(db, records))

    def embeddings_after(self, model: str, position: int, limit: int) -> list[tuple[int, str, bytes]]:
        rows = self._read(
            "SELECT rowid, article_id, vector FROM article_embeddings WHERE rowid > ? AND model = ? ORDER BY rowid LIMIT ?",
            (position, model, limit),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    def embedding_hashes(self, model: str, article_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(article_ids))
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            rows = self._read(
                f"SELECT article_id, text_hash FROM article_embeddings WHERE model = ? "
                f"AND article_id IN ({', '.join('?' * len(chunk))})",
                [model, *chunk],
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    def articles_without_embedding(self, model: str) -> list[str]:
        rows = self._read(
            "SELECT a.id FROM articles a LEFT JOIN article_embeddings e ON e.article_id = a.id AND e.model = ? "
            "WHERE a.duplicate_of IS NULL AND e.article_id IS NULL ORDER BY a.rowid",
            (model,),
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                try:
                    connection.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()


def _insert_embeddings(db: sqlite3.Connection, records: Sequence[EmbeddingRecord]) -> None:
    # REPLACE deletes and re-inserts, so a vector saved again gets a new rowid: readers catching up by rowid see it.
    db.executemany(
        "INSERT OR REPLACE INTO article_embeddings (article_id, model, dim, vector, text_hash) VALUES (?, ?, ?, ?, ?)",
        [(r.article_id, r.model, r.dim, r.vector, r.text_hash) for r in records],
    )


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies (which hold ';') whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
