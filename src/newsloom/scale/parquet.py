"""The Parquet layout ``newsloom spark-ingest`` writes, and the bulk loader that fills a store from it.

    DIR/articles/part-*.parquet    one row per article, every Article field, in publication order (see below),
                                   plus ``signature``: the dedup signature bytes (``DocumentSignature.to_bytes``)
    DIR/duplicates/part-*.parquet  (id, duplicate_of): the copies only, a small table for analysis
    DIR/_newsloom.json             what the run read and found (counts, dedup options, time taken)

Nested fields are Parquet lists and structs: ``paragraphs`` and ``keyphrases`` list<string>, ``teasers``
list<struct<title, excerpt, url>>, ``entities`` list<struct<name, type, count>>. Dates are UTC timestamps
(microseconds).

``load_parquet(directory, store)`` upserts the articles in batches, each with its dedup signatures (so a later
incremental ``newsloom ingest`` dedups against the loaded corpus), and runs the streaming ``StoriesStage`` over
them in publication order: the part files are read in name order and Spark wrote them globally sorted by
(undated last, published_at, copies after their canonical, id). Only pyarrow is needed, not Spark.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError, MissingExtraError
from ..model import Article, EntityMention, Teaser
from ..store.base import BatchExtras, Store, UpsertResult

__all__ = [
    "ARTICLE_COLUMNS",
    "ARTICLES_DIR",
    "DUPLICATES_DIR",
    "MANIFEST",
    "LoadReport",
    "article_record",
    "article_from_record",
    "iter_parquet_articles",
    "load_parquet",
]

ARTICLES_DIR = "articles"
DUPLICATES_DIR = "duplicates"
MANIFEST = "_newsloom.json"

# Article fields in a fixed order (the Spark schema in scale/spark.py follows it), then the dedup signature.
ARTICLE_COLUMNS = (
    "id", "title", "paragraphs", "url", "canonical_url", "site", "author", "published_at", "published_at_source",
    "published_at_confidence", "language", "image", "page_type", "teasers", "source", "fetched_at", "duplicate_of",
    "story_id", "entities", "keyphrases", "summary", "signature",
)


def article_record(article: Article, signature: bytes | None) -> dict[str, Any]:
    """One Parquet row: every Article field (nested ones as lists of dicts) and the dedup signature."""
    return {
        "id": article.id,
        "title": article.title,
        "paragraphs": list(article.paragraphs),
        "url": article.url,
        "canonical_url": article.canonical_url,
        "site": article.site,
        "author": article.author,
        "published_at": _utc(article.published_at),
        "published_at_source": article.published_at_source,
        "published_at_confidence": float(article.published_at_confidence),
        "language": article.language,
        "image": article.image,
        "page_type": article.page_type,
        "teasers": [{"title": t.title, "excerpt": t.excerpt, "url": t.url} for t in article.teasers],
        "source": article.source,
        "fetched_at": _utc(article.fetched_at),
        "duplicate_of": article.duplicate_of,
        "story_id": article.story_id,
        "entities": [{"name": e.name, "type": e.type, "count": int(e.count)} for e in article.entities],
        "keyphrases": list(article.keyphrases),
        "summary": article.summary,
        "signature": signature,
    }


def article_from_record(record: dict[str, Any]) -> Article:
    """The Article of one Parquet row (the ``signature`` column is not part of it)."""
    return Article(
        id=record["id"],
        title=record.get("title") or "",
        paragraphs=list(record.get("paragraphs") or []),
        url=record.get("url"),
        canonical_url=record.get("canonical_url"),
        site=record.get("site"),
        author=record.get("author"),
        published_at=_utc(record.get("published_at")),
        published_at_source=record.get("published_at_source") or "unknown",
        published_at_confidence=float(record.get("published_at_confidence") or 0.0),
        language=record.get("language"),
        image=record.get("image"),
        page_type=record.get("page_type") or "article",
        teasers=[Teaser(t["title"], t.get("excerpt") or "", t.get("url")) for t in record.get("teasers") or []],
        source=record.get("source"),
        fetched_at=_utc(record.get("fetched_at")),
        duplicate_of=record.get("duplicate_of"),
        story_id=record.get("story_id"),
        entities=[EntityMention(e["name"], e["type"], int(e.get("count") or 1)) for e in record.get("entities") or []],
        keyphrases=list(record.get("keyphrases") or []),
        summary=record.get("summary"),
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as parquet
    except ImportError as exc:
        raise MissingExtraError("Parquet loading", "spark") from exc
    return parquet


def _part_files(directory: Path) -> list[Path]:
    articles = directory / ARTICLES_DIR
    if not articles.is_dir():
        raise InputError(f"{directory}: no '{ARTICLES_DIR}/' folder; is it the output of newsloom spark-ingest?")
    files = sorted(articles.glob("*.parquet"))
    if not files and not (articles / "_SUCCESS").exists():
        raise InputError(f"{articles}: no Parquet files (an unfinished spark-ingest run?)")
    return files


def iter_parquet_articles(directory: str | Path, batch_size: int = 500) -> Iterator[list[tuple[Article, bytes | None]]]:
    """(Article, signature bytes) in batches, in the order written (publication order for spark-ingest output)."""
    parquet = _pyarrow_parquet()
    for path in _part_files(Path(directory)):
        try:
            handle = parquet.ParquetFile(path)
            missing = {"id", "title", "paragraphs"} - set(handle.schema_arrow.names)
            if missing:
                raise InputError(f"{path}: not a newsloom articles file (missing {', '.join(sorted(missing))})")
            for record_batch in handle.iter_batches(batch_size=batch_size):
                rows = record_batch.to_pylist()
                yield [(article_from_record(row), _signature_bytes(row.get("signature"))) for row in rows]
        except (OSError, ValueError) as exc:  # pyarrow's errors for damaged or foreign files derive from these
            raise InputError(f"{path}: unreadable Parquet ({exc})") from exc


def _signature_bytes(value: object) -> bytes | None:
    return bytes(value) if value is not None else None  # type: ignore[arg-type]


@dataclass(slots=True)
class LoadReport:
    """What ``load_parquet`` did."""

    articles: int = 0
    duplicates: int = 0
    stories: int = 0  # distinct stories the loaded canonical articles were assigned to
    stored: UpsertResult | None = None


def load_parquet(
    directory: str | Path,
    store: Store,
    *,
    batch_size: int = 500,
    stories: bool = True,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Bulk-load spark-ingest output into ``store``: one transaction per batch, with the dedup signatures, and
    stories built by the streaming ``StoriesStage`` in publication order. Loading the same folder again changes
    nothing (upserts by id; the clusterer returns an article's current story).

    The ``duplicate_of`` links are those Spark found within its run; articles already in the store before the
    load are not compared with the loaded ones (load into an empty store, or re-run dedup for that).
    """
    from ..stages import Batch, StoriesStage

    stage = StoriesStage() if stories else None
    report = LoadReport(stored=UpsertResult())
    story_ids: set[str] = set()
    for rows in iter_parquet_articles(directory, batch_size):
        batch = Batch(
            [article for article, _ in rows],
            BatchExtras(signatures=[(a.id, sig, a.published_at) for a, sig in rows if sig is not None]),
        )
        if stage is not None:
            stage(batch, store)
        report.stored += store.upsert_articles(batch.articles, extras=batch.extras)
        report.articles += len(batch.articles)
        report.duplicates += sum(a.duplicate_of is not None for a in batch.articles)
        story_ids.update(a.story_id for a in batch.articles if a.story_id and a.duplicate_of is None)
        if progress:
            progress(report.articles)
    report.stories = len(_standing_stories(store, story_ids))
    return report


def _standing_stories(store: Store, story_ids: set[str]) -> set[str]:
    """Story ids still standing after the load (a story absorbed by another later in the stream is not counted)."""
    from ..errors import NotFoundError

    standing: set[str] = set()
    for story_id in story_ids:
        try:
            standing.add(store.get_story(story_id).id)
        except NotFoundError:
            continue
    return standing


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The run summary spark-ingest wrote next to the Parquet folders."""
    path = Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: no readable run summary ({exc})") from exc
