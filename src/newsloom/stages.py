"""The stages an ingest runs after extraction, in order: dedup -> enrich -> stories.

A stage is called with a ``Batch`` (the articles of one transaction, in order, plus the extras the store commits with
them) and the store; it fills in its part. Stages keep their own in-memory state across batches of a run (the
duplicate index, the surname resolver, the story clusterer) and load it from the store on first use, so a run picks
up where the last one stopped: nothing is re-clustered or re-indexed from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .model import Article
from .store.base import BatchExtras, Store

__all__ = ["Batch", "Stage", "DedupStage", "EnrichStage", "default_stages"]


@dataclass(slots=True)
class Batch:
    articles: list[Article]
    extras: BatchExtras = field(default_factory=BatchExtras)


class Stage(Protocol):
    def __call__(self, batch: Batch, store: Store) -> None: ...


class DedupStage:
    """Marks exact and near-duplicate copies (``duplicate_of``: the group's earliest-published article).

    The index is rebuilt from the signatures stored with earlier batches; new signatures, and the re-pointing of a
    group when an older copy arrives late, are committed with the batch.
    """

    def __init__(self) -> None:
        self._index = None

    def _load(self, store: Store):  # noqa: ANN202
        from .dedup import DuplicateIndex

        if self._index is None:
            self._index = DuplicateIndex.load(store.dedup_rows())
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
    against the full names seen in every batch of the run, not only its own."""

    def __init__(self, entities: bool | None = None, n_process: int = 1) -> None:
        from .enrich import SurnameResolver

        self.entities = entities
        self.n_process = n_process
        self.resolver = SurnameResolver()

    def __call__(self, batch: Batch, store: Store | None = None) -> None:
        from .enrich import enrich

        batch.articles = enrich(batch.articles, self.entities, resolver=self.resolver, n_process=self.n_process)


def default_stages(*, entities: bool | None = None, n_process: int = 1) -> list[Stage]:
    """The stages every ingest runs after extraction, in order."""
    return [DedupStage(), EnrichStage(entities=entities, n_process=n_process)]
