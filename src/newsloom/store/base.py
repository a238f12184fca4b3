"""The store interface: what every backend (SQLite by default, PostgreSQL for shared deployments) provides.

The pipeline writes through ``upsert_articles``; the reader, API and CLI read through the other methods. Keeping the
interface small keeps the two backends honest: one contract test suite runs against each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..model import Article

if TYPE_CHECKING:
    from ..search import Query

__all__ = [
    "Store",
    "UpsertResult",
    "SearchHit",
    "SearchFacets",
    "FacetCount",
    "ArticleCount",
    "TermCount",
    "StoreStats",
    "EntityCount",
    "DayCount",
    "SourceRecord",
    "BatchExtras",
    "StoryRow",
    "SubscriptionRecord",
    "DeliveryRecord",
    "DeliveryLogEntry",
    "EmbeddingRecord",
]


@dataclass(slots=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(slots=True)
class SearchHit:
    article: Article
    score: float
    snippet: str  # plain text, matched terms between MATCH_START and MATCH_END; the web layer escapes it, then marks them


@dataclass(slots=True)
class FacetCount:
    value: str
    count: int


@dataclass(slots=True)
class SearchFacets:
    """How the canonical matches of a search spread: by site, language, entity and month (YYYY-MM, newest first)."""

    sites: list[FacetCount] = field(default_factory=list)
    languages: list[FacetCount] = field(default_factory=list)
    entities: list[EntityCount] = field(default_factory=list)
    months: list[FacetCount] = field(default_factory=list)


@dataclass(slots=True)
class ArticleCount:
    article: Article
    count: int


@dataclass(slots=True)
class TermCount:
    term: str
    documents: int


@dataclass(slots=True)
class EntityCount:
    """An entity and in how many (canonical) articles it is mentioned."""

    name: str
    type: str
    articles: int


@dataclass(slots=True)
class DayCount:
    day: str  # YYYY-MM-DD
    count: int


@dataclass(slots=True)
class StoryRow:
    """A story as stored: what the clusterer knows of it (counts are of canonical articles: copies never count)."""

    id: str
    title: str
    first_seen: datetime | None
    last_seen: datetime | None
    article_count: int
    top_terms: list[str] = field(default_factory=list)
    top_entities: list[str] = field(default_factory=list)
    volume_per_day: dict[str, int] = field(default_factory=dict)
    volume_per_hour: dict[str, int] = field(default_factory=dict)
    archived: bool = False
    source_count: int = 0  # filled in on read: distinct sites among the story's articles


@dataclass(slots=True)
class BatchExtras:
    """What the later stages add to a batch's transaction besides the articles, so it commits or fails with them."""

    # key -> value: resumable readers' positions, stage state
    checkpoints: dict[str, str] = field(default_factory=dict)
    # (article id, duplicate signature bytes, published_at) of articles new to the duplicate index
    signatures: list[tuple[str, bytes, datetime | None]] = field(default_factory=list)
    # stored article id -> its new duplicate_of, when an older copy arrived and became the group's canonical
    repointed: dict[str, str | None] = field(default_factory=dict)
    # stories created or changed by this batch, and stories absorbed into another (old id -> surviving id)
    stories: list[StoryRow] = field(default_factory=list)
    merged_stories: dict[str, str] = field(default_factory=dict)
    # article vectors of the semantic extra (newsloom.semantic.EmbedStage)
    embeddings: list[EmbeddingRecord] = field(default_factory=list)


@dataclass(slots=True)
class EmbeddingRecord:
    """One article's vector for semantic search (newsloom.semantic): float32 little-endian bytes of ``dim`` values,
    and a fingerprint of the text it was computed from, so an unchanged article is not embedded twice."""

    article_id: str
    model: str
    dim: int
    vector: bytes
    text_hash: str


@dataclass(slots=True)
class SourceRecord:
    """A source newsloom polls: a feed, a sitemap, or a site to discover them from, with its health and the
    validators for conditional GET."""

    url: str
    kind: str  # "feed" | "sitemap" | "site"
    title: str | None = None
    every_seconds: int = 900
    etag: str | None = None
    last_modified: str | None = None
    last_checked: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    error_count: int = 0
    next_due: datetime | None = None  # None: due now
    articles: int = 0  # articles ingested from it so far


@dataclass(slots=True)
class StoreStats:
    articles: int
    canonical_articles: int
    sites: int
    with_date: int
    page_views: int
    languages: dict[str, int] = field(default_factory=dict)


class Store(ABC):
    """A newsloom article store. Implementations are safe to share between threads."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending named migrations in order, each in its own transaction; returns the names applied."""

    @abstractmethod
    def upsert_articles(
        self,
        articles: Iterable[Article],
        checkpoint: tuple[str, str] | None = None,
        extras: BatchExtras | None = None,
    ) -> UpsertResult:
        """Insert or update articles keyed by ``Article.id``, all in one transaction. ``checkpoint`` (key, value)
        and ``extras`` are saved in that same transaction, so a resumable reader (a WARC offset) or a stage's
        state never gets ahead of what was committed."""

    @abstractmethod
    def dedup_rows(self, retention_days: float | None = None) -> Iterable[tuple[str, bytes, datetime | None, str | None]]:
        """(article id, signature, published_at, duplicate_of) of every indexed article, in the order indexed:
        what ``DuplicateIndex.load`` rebuilds the index from. With ``retention_days``, articles published that
        long before the newest one come with only their signature's header and exact fingerprint
        (``dedup.RETIRED_PREFIX_SIZE`` bytes), so a restart reads a window, not the whole corpus."""

    @abstractmethod
    def get_story(self, story_id: str) -> StoryRow:
        """The story, or ``NotFoundError``. The id of a story merged into another gives the one that absorbed it
        (the row's id then differs from ``story_id``)."""

    @abstractmethod
    def story_merged_into(self, story_id: str) -> str | None:
        """The id of the story that absorbed ``story_id``, or None when it was never merged."""

    @abstractmethod
    def top_stories(self, limit: int = 20, since: datetime | None = None) -> list[StoryRow]:
        """Stories with the most canonical articles (seen since ``since``), most recent first among equals."""

    @abstractmethod
    def story_articles(self, story_id: str, limit: int = 200) -> list[Article]:
        """The story's canonical articles in time order, oldest first."""

    @abstractmethod
    def copies_of(self, article_id: str) -> list[Article]:
        """The stored duplicates of a canonical article ("also published by"), earliest first."""

    @abstractmethod
    def get_checkpoint(self, key: str) -> str | None:
        """The last value saved under ``key`` with a committed batch, or None."""

    @abstractmethod
    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Which of these canonical URLs are already stored (so a poll fetches only new articles)."""

    @abstractmethod
    def save_source(self, source: SourceRecord) -> None:
        """Insert or replace a source by URL."""

    @abstractmethod
    def get_source(self, url: str) -> SourceRecord:
        """The source, or ``NotFoundError``."""

    @abstractmethod
    def list_sources(self) -> list[SourceRecord]:
        """All sources, by URL."""

    @abstractmethod
    def remove_source(self, url: str) -> None:
        """Forget a source (its articles stay); ``NotFoundError`` when unknown."""

    @abstractmethod
    def get_article(self, article_id: str) -> Article:
        """The article, or ``NotFoundError``."""

    @abstractmethod
    def get_articles(self, article_ids: Sequence[str]) -> list[Article]:
        """The articles that exist among ``article_ids``, in the order given."""

    @abstractmethod
    def ids_passing_filters(self, article_ids: Sequence[str], query: Query) -> set[str]:
        """Those of ``article_ids`` that pass the query's field filters (entity, site, author, language, story,
        dates), judged exactly as ``search`` judges them; the words and exclusions are not looked at."""

    @abstractmethod
    def latest_articles(self, limit: int = 20, offset: int = 0, site: str | None = None) -> list[Article]:
        """Newest first (publication date, else ingest time), duplicates left out."""

    @abstractmethod
    def search(self, query: str, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """Full-text search, best first, duplicates left out. Raises ``QueryError`` on a malformed query."""

    @abstractmethod
    def search_facets(self, query: str, limit: int = 10) -> SearchFacets:
        """The top ``limit`` sites, languages, entities and months among all the query's matches (filters applied,
        duplicates left out). Raises ``QueryError`` on a malformed query."""

    def search_index_stale(self) -> bool:
        """Whether enough articles arrived since ``refresh_search_index`` last ran that it should run again.
        Backends whose full-text index needs no upkeep (PostgreSQL's GIN) always say no."""
        return False

    def refresh_search_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild derived search structures after large ingests (searches stay correct without it, only slower);
        returns how many were rebuilt. Nothing to do by default."""
        return 0

    @abstractmethod
    def candidates_sharing_terms(self, terms: Sequence[str], exclude: Sequence[str], limit: int) -> list[Article]:
        """Articles whose text holds any of ``terms``, best BM25 first: the candidate set for similarity ranking."""

    @abstractmethod
    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many articles hold each term (as the full-text index tokenises it)."""

    @abstractmethod
    def record_view(self, article_id: str, at: datetime | None = None) -> None:
        """Count one reader view of an article (for Popular)."""

    @abstractmethod
    def popular(self, limit: int = 10, since: datetime | None = None) -> list[ArticleCount]:
        """Most-viewed articles, views of duplicates credited to their canonical article."""

    @abstractmethod
    def top_entities(self, limit: int = 20, type: str | None = None) -> list[EntityCount]:
        """Entities mentioned in the most canonical articles."""

    @abstractmethod
    def entity(self, name: str) -> list[EntityCount]:
        """The entity of that canonical name, one row per type it was tagged with (most articles first);
        ``NotFoundError`` when no article mentions it."""

    @abstractmethod
    def articles_mentioning(self, name: str, limit: int = 20, offset: int = 0) -> list[Article]:
        """Canonical articles mentioning the entity, newest first."""

    @abstractmethod
    def cooccurring_entities(self, name: str, limit: int = 12) -> list[EntityCount]:
        """Entities most often mentioned in the same articles as ``name``."""

    @abstractmethod
    def entity_volume(self, name: str) -> list[DayCount]:
        """Articles mentioning the entity per day (publication day, else ingest day), oldest first."""

    @abstractmethod
    def stats(self) -> StoreStats:
        """Counts for ``newsloom stats`` and the reader's footer."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- embeddings (semantic.py): optional, so a store without them says so instead of failing to instantiate ---
    def save_embeddings(self, records: Sequence[EmbeddingRecord]) -> None:
        """Insert or replace these article vectors in one transaction."""
        raise StoreError(f"{type(self).__name__} does not keep embeddings")

    def embeddings_after(self, model: str, position: int, limit: int) -> list[tuple[int, str, bytes]]:
        """(position, article id, vector bytes) of the model's vectors saved after ``position``, in position order:
        a vector saved again gets a new position, so a reader keeping a copy can catch up incrementally."""
        raise StoreError(f"{type(self).__name__} does not keep embeddings")

    def embedding_hashes(self, model: str, article_ids: Sequence[str]) -> dict[str, str]:
        """article id -> text fingerprint, for those of ``article_ids`` that have a vector of ``model``."""
        raise StoreError(f"{type(self).__name__} does not keep embeddings")

    def articles_without_embedding(self, model: str) -> list[str]:
        """Ids of canonical articles with no vector of ``model``, in ingest order (what ``newsloom embed`` fills)."""
        raise StoreError(f"{type(self).__name__} does not keep embeddings")

    # -- subscriptions (subscriptions.py): who follows what, and what each webhook was sent ------------------------
    @abstractmethod
    def save_subscription(self, subscription: SubscriptionRecord) -> None:
        """Insert or replace a subscription by id."""

    @abstractmethod
    def get_subscription(self, subscription_id: str) -> SubscriptionRecord:
        """The subscription, or ``NotFoundError``."""

    @abstractmethod
    def list_subscriptions(self) -> list[SubscriptionRecord]:
        """All subscriptions, oldest first."""

    @abstractmethod
    def remove_subscription(self, subscription_id: str) -> None:
        """Forget a subscription with its deliveries and log; ``NotFoundError`` when unknown."""

    @abstractmethod
    def enqueue_deliveries(self, subscription_id: str, article_ids: Sequence[str], status: str, now: datetime) -> int:
        """Record these articles for the subscription (due at ``now``) unless already recorded, in one transaction:
        a (subscription, article) pair is recorded once, ever. Returns how many were new."""

    @abstractmethod
    def due_deliveries(self, now: datetime, limit: int = 100) -> list[DeliveryRecord]:
        """Pending deliveries whose next attempt is due, oldest first."""

    @abstractmethod
    def claim_delivery(self, subscription_id: str, article_id: str, now: datetime, lease_until: datetime) -> bool:
        """Take a due pending delivery for one attempt (moves its next attempt to ``lease_until``); False when
        another deliverer took it first or it is no longer due."""

    @abstractmethod
    def record_delivery_attempt(self, delivery: DeliveryRecord, log: DeliveryLogEntry) -> None:
        """Save the delivery's new state and append one line to the delivery log, in one transaction."""

    @abstractmethod
    def list_deliveries(self, subscription_id: str, status: str | None = None, limit: int = 1000) -> list[DeliveryRecord]:
        """The subscription's deliveries (optionally of one status), oldest first."""

    @abstractmethod
    def delivery_log(self, subscription_id: str, limit: int = 1000) -> list[DeliveryLogEntry]:
        """The subscription's delivery attempts, oldest first."""


@dataclass(slots=True)
class SubscriptionRecord:
    """Someone follows a query, an entity, a story or a site; with a webhook, new matches are POSTed to it."""

    id: str
    kind: str  # "query" | "entity" | "story" | "site"
    target: str  # the query text, entity name, story id or site
    created_at: datetime
    webhook_url: str | None = None
    secret: str | None = None  # HMAC key of the webhook signature (kept to sign; never shown by the API)
    allow_private_networks: bool = False  # let the webhook reach loopback/private addresses (tests, LANs)
    active: bool = True


@dataclass(slots=True)
class DeliveryRecord:
    """One article owed to one subscription's webhook: pending until delivered, or dead after too many failures.
    Status "skipped" marks what already matched when the subscription was made (not sent, never sent later)."""

    subscription_id: str
    article_id: str
    status: str  # "pending" | "delivered" | "dead" | "skipped"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    last_http_status: int | None = None
    created_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(slots=True)
class DeliveryLogEntry:
    """One POST attempt: when, the HTTP status (None when no answer came) and the error, if any."""

    subscription_id: str
    article_id: str
    attempt: int
    at: datetime
    http_status: int | None
    error: str | None
    duration_ms: int
