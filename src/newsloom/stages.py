"""The stages an ingest runs after extraction, in order: dedup -> enrich -> stories.

A stage is called with a ``Batch`` (the articles of one transaction, in order, plus the extras the store commits with
them) and the store; it fills in its part. Stages keep their own in-memory state across batches of a run (the
duplicate index, the surname resolver, the story clusterer) and load it from the store on first use, so a run picks
up where the last one stopped: nothing is re-clustered or re-indexed from scratch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from .errors import NotFoundError
from .model import Article
from .store.base import BatchExtras, Store, StoryRow

__all__ = [
    "Batch",
    "DedupStage",
    "EnrichStage",
    "Stage",
    "StoriesStage",
    "close_stages",
    "default_stages",
    "finish_stages",
]


@dataclass(slots=True)
class Batch:
    articles: list[Article]
    extras: BatchExtras = field(default_factory=BatchExtras)


class Stage(Protocol):
    def __call__(self, batch: Batch, store: Store) -> None: ...


def finish_stages(stages: list[Stage], store: Store) -> None:
    """End of a run: let stages that keep state save it (``finish(store)``, when they have one)."""
    for stage in stages:
        finish = getattr(stage, "finish", None)
        if finish is not None:
            finish(store)


def close_stages(stages: list[Stage]) -> None:
    """Release what stages hold (worker processes), also when a run fails; saves nothing."""
    for stage in stages:
        close = getattr(stage, "close", None)
        if close is not None:
            close()


class DedupStage:
    """Marks exact and near-duplicate copies (``duplicate_of``: the group's earliest-published article).

    The index is rebuilt from the signatures stored with earlier batches; new signatures, and the re-pointing of a
    group when an older copy arrives late, are committed with the batch.
    """

    def __init__(self) -> None:
        self._index = None

    def _load(self, store: Store):
        from .dedup import DedupOptions, DuplicateIndex

        if self._index is None:
            options = DedupOptions()
            self._index = DuplicateIndex.load(store.dedup_rows(retention_days=options.retention_days), options)
        return self._index

    def __call__(self, batch: Batch, store: Store) -> None:
        from .dedup import dedup_text

        index = self._load(store)
        new = [a for a in batch.articles if a.id not in index]
        matches = index.add_many([(a.id, dedup_text(a.title, a.text), a.published_at) for a in new])
        for article, match in zip(new, matches):
            batch.extras.signatures.append((article.id, index.signature(article.id), article.published_at))
            if match is not None:
                batch.extras.repointed.update(match.repointed)
        in_batch = {a.id for a in batch.articles}
        for article in batch.articles:
            article.duplicate_of = index.duplicate_of(article.id)
        # Rows of this batch get their final duplicate_of with the upsert; only stored rows need re-pointing.
        for article_id in list(batch.extras.repointed):
            if article_id in in_batch:
                del batch.extras.repointed[article_id]


class EnrichStage:
    """Language, entities, keyphrases and summary. One instance per run, so a bare surname ("Netanyahu") resolves
    against the full names seen in every batch of the run, not only its own.

    With ``n_process`` > 1 the per-article work runs in a pool of worker processes started once, on the first batch
    big enough to be worth it, and kept until :meth:`close`. The pipeline then calls :meth:`start` (hand a batch to
    the workers, returns at once) and later :meth:`complete` (collect it, in batch order), so the workers enrich
    the next batch while the pipeline stores the last one. Articles whose enrichment inputs equal those of a recent
    article (exact copies) reuse its result instead of being enriched again.
    """

    def __init__(self, entities: bool | None = None, n_process: int = 1) -> None:
        from .enrich import EnrichmentCache, SurnameResolver

        self.entities = entities
        self.n_process = n_process
        self.resolver = SurnameResolver()
        self.cache = EnrichmentCache()
        self.reused = 0  # articles that reused an identical article's enrichment in this run
        self._pool = None

    @property
    def runs_in_background(self) -> bool:
        """Whether :meth:`start` hands work to other processes (so the caller can overlap it with its own)."""
        return self.n_process > 1

    def _pool_for(self, batch: Batch):
        from .enrich import _MIN_CHUNK, EnrichmentPool, entities_available

        if self.n_process > 1 and self._pool is None and len(batch.articles) >= 2 * _MIN_CHUNK:
            run_entities = entities_available() if self.entities is None else self.entities
            self._pool = EnrichmentPool(self.n_process, run_entities)
        return self._pool

    def start(self, batch: Batch, store: Store | None = None):
        from .enrich import start_enrich

        return start_enrich(
            batch.articles, self.entities, resolver=self.resolver, pool=self._pool_for(batch), cache=self.cache
        )

    def complete(self, batch: Batch, pending) -> None:
        batch.articles = pending.result()
        self.reused += pending.reused

    def __call__(self, batch: Batch, store: Store | None = None) -> None:
        self.complete(batch, self.start(batch, store))

    def close(self) -> None:
        """Stop the worker processes, if any (a later batch starts new ones)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def finish(self, store: Store) -> None:
        self.close()


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _publication_order(article: Article) -> tuple[bool, datetime]:
    value = article.published_at
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value is None, value or _EARLIEST)


def _story_row(record) -> StoryRow:
    return StoryRow(
        id=record.id, title=record.title, first_seen=record.first_seen, last_seen=record.last_seen,
        article_count=record.article_count, top_terms=list(record.top_terms), top_entities=list(record.top_entities),
        volume_per_day=dict(record.volume_per_day), volume_per_hour=dict(record.volume_per_hour),
        archived=record.archived,
    )


class StoriesStage:
    """Assigns each canonical article to a story, in publication order, with the streaming clusterer.

    Copies join the story of their canonical article and never count in a story's size. The clusterer's state
    is saved with every batch (a checkpoint in the same transaction), so the next run continues the stream
    instead of re-clustering the corpus.
    """

    STATE_KEY = "stories:clusterer-state"
    # The saved state grows with the live stories, so it is written with a batch at most this often, and at the end
    # of a run. After a crash the articles of the unsaved stretch are clustered again on the rerun (their rows are
    # upserted with the new assignment): nothing is lost, at the cost of re-doing that stretch.
    SAVE_EVERY_SECONDS = 30.0

    def __init__(self) -> None:
        self._clusterer = None
        self._last_saved: float | None = None
        self._unsaved = False

    def _load(self, store: Store):
        from .stories import StoryClusterer

        if self._clusterer is None:
            saved = store.get_checkpoint(self.STATE_KEY)
            self._clusterer = StoryClusterer.from_state(json.loads(saved)) if saved else StoryClusterer()
        return self._clusterer

    def _story_of_canonical(self, canonical_id: str, in_batch: dict[str, Article], store: Store) -> str | None:
        if canonical_id in in_batch:
            return in_batch[canonical_id].story_id
        try:
            return self._clusterer.story_of(canonical_id)
        except NotFoundError:
            try:
                return store.get_article(canonical_id).story_id
            except NotFoundError:
                return None

    def __call__(self, batch: Batch, store: Store) -> None:
        clusterer = self._load(store)
        merged: dict[str, str] = {}
        touched: set[str] = set()
        canonical = [a for a in batch.articles if a.duplicate_of is None]
        for article in sorted(canonical, key=_publication_order):
            # No entities (NER off): None lets the clusterer fall back to proper nouns found in the text.
            assignment = clusterer.add(
                article.id, article.title, article.text, article.published_at, article.entities or None
            )
            article.story_id = assignment.story_id
            touched.add(assignment.story_id)
            for absorbed in assignment.merged_from:
                merged[absorbed] = assignment.story_id
        # A story absorbed later in the batch may have absorbed others before: follow each chain to its end.
        for absorbed in list(merged):
            survivor = merged[absorbed]
            while survivor in merged:
                survivor = merged[survivor]
            merged[absorbed] = survivor
        in_batch = {a.id: a for a in batch.articles}
        for article in batch.articles:
            if article.story_id in merged:
                article.story_id = merged[article.story_id]
        for article in batch.articles:
            if article.duplicate_of is not None:
                article.story_id = self._story_of_canonical(article.duplicate_of, in_batch, store)
        live = [clusterer.story(story_id) for story_id in touched - set(merged)]
        batch.extras.stories.extend(_story_row(record) for record in live + clusterer.pop_archived())
        batch.extras.merged_stories.update(merged)
        self._unsaved = True
        now = time.monotonic()
        if self._last_saved is None or now - self._last_saved >= self.SAVE_EVERY_SECONDS:
            batch.extras.checkpoints[self.STATE_KEY] = self._state()
            self._last_saved, self._unsaved = now, False

    def _state(self) -> str:
        # Encoded story by story (no full plain-data copy of the state), vectors as base64 float64: the transient
        # memory of a checkpoint is about twice its text, a third of what json.dumps(to_state()) took.
        return self._clusterer.state_json()

    def finish(self, store: Store) -> None:
        """Save the clusterer's state if batches since the last save changed it."""
        if self._clusterer is not None and self._unsaved:
            store.upsert_articles([], extras=BatchExtras(checkpoints={self.STATE_KEY: self._state()}))
            self._last_saved, self._unsaved = time.monotonic(), False


def default_stages(*, entities: bool | None = None, n_process: int = 1, embeddings: bool | None = None) -> list[Stage]:
    """The stages every ingest runs after extraction, in order. ``embeddings``: article vectors for semantic search
    (default: when the ``semantic`` extra is installed; True without it raises ``MissingExtraError``)."""
    from .semantic import embedding_stage

    stages: list[Stage] = [DedupStage(), EnrichStage(entities=entities, n_process=n_process), StoriesStage()]
    embed = embedding_stage(embeddings)
    if embed is not None:
        stages.append(embed)
    return stages
