"""The JSON API under /api/: thin wrappers over the store and related.py, documented in /openapi.json.

Articles are ``Article.to_dict()``; entities are addressed by canonical name (percent-encoded; "/" may stay);
stories by their id (``Article.story_id``).
Errors (404, 422 validation, 400 bad query) all have the shape of ``ErrorOut``;
the handlers that produce it live in app.py so that pages and API share one error path.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from ..related import RelatedArticle
from ..semantic import search_articles
from ..store.base import EntityCount, Store, StoryRow
from . import stories as story_views
from .present import entity_type_label, highlight_snippet, iso_date, plain_snippet

__all__ = ["router", "ErrorOut"]

router = APIRouter(prefix="/api", tags=["api"])

ArticleJSON = dict[str, Any]


class ErrorOut(BaseModel):
    """Every API error: not found, invalid parameters, malformed query, server trouble."""

    ok: bool = Field(False, description="always false")
    error: str = Field(description="what went wrong, for people")
    status: int = Field(description="the HTTP status code, repeated")


class ArticleList(BaseModel):
    articles: list[ArticleJSON]
    limit: int
    offset: int
    site: str | None = None


class RelatedItem(BaseModel):
    article: ArticleJSON
    score: float
    reason: str = Field(description='why it is listed, e.g. "shares: rafah, netanyahu, gallant"')
    shared_terms: list[str]


class RelatedOut(BaseModel):
    article_id: str
    story_id: str | None = Field(None, description="the article's story, when it has been clustered into one")
    related: list[RelatedItem] = Field(
        description='articles of the same story first (reason "same story"), then the same subject by headline '
                    "and lead (TF-IDF)")
    more_like_this: list[RelatedItem] = Field(
        description="the same story's next articles, then the nearest whole-text neighbours (TF-IDF cosine) "
                    "among other stories; nothing in related is repeated")


class SearchHitOut(BaseModel):
    article: ArticleJSON
    score: float
    snippet: str = Field(description="plain text around the matches")
    snippet_html: str = Field(description="the snippet HTML-escaped, matched terms in <mark>")


class SearchOut(BaseModel):
    query: str
    limit: int
    offset: int
    hits: list[SearchHitOut]


class FacetOut(BaseModel):
    value: str
    count: int


class SearchFacetsOut(BaseModel):
    query: str
    sites: list[FacetOut]
    languages: list[FacetOut]
    entities: list[EntityOut]
    months: list[FacetOut] = Field(description="YYYY-MM (publication month, else ingest month), newest first")


class PopularItem(BaseModel):
    article: ArticleJSON
    views: int


class PopularOut(BaseModel):
    days: int | None = Field(description="the window counted, or null for all time")
    popular: list[PopularItem]


class StatsOut(BaseModel):
    articles: int
    canonical_articles: int
    sites: int
    with_date: int
    page_views: int
    languages: dict[str, int]


class EntityOut(BaseModel):
    name: str = Field(description="canonical name, e.g. Benjamin Netanyahu")
    type: str = Field(description="PERSON, ORG, GPE, LOC, NORP, EVENT... (spaCy's labels)")
    articles: int = Field(description="how many articles (duplicates left out) mention it with this type")


class EntityListOut(BaseModel):
    type: str | None
    limit: int
    entities: list[EntityOut]


class EntityTypeOut(BaseModel):
    type: str
    label: str = Field(description="the type in words, e.g. person")
    articles: int


class DayCountOut(BaseModel):
    day: str = Field(description="YYYY-MM-DD: publication day, else the day newsloom fetched the article")
    count: int


class EntityDetailOut(BaseModel):
    name: str
    types: list[EntityTypeOut] = Field(description="every type it was tagged with, most articles first")
    articles: int = Field(description="articles mentioning it, whatever the type")
    volume: list[DayCountOut] = Field(description="articles per day, oldest first; days without any are left out")
    cooccurring: list[EntityOut] = Field(description="names most often mentioned in the same articles")
    latest: list[ArticleJSON] = Field(description="the newest articles mentioning it")


class StoryOut(BaseModel):
    id: str
    title: str = Field(description="the headline of the story's most central article")
    first_seen: str | None = Field(description="ISO 8601: its earliest article; null for undated stories")
    last_seen: str | None = Field(description="ISO 8601: its latest article")
    article_count: int = Field(description="canonical articles (copies published elsewhere do not count)")
    source_count: int = Field(description="distinct sites among its articles")
    top_terms: list[str]
    top_entities: list[str]
    archived: bool = Field(description="idle long enough to leave the live clusterer (still readable here)")


class TrendingStoryOut(BaseModel):
    story: StoryOut
    score: float = Field(description="(recent + 2) / (expected + 2): how many times its own usual rate")
    recent_count: int = Field(description="articles in the recent window")
    expected_count: float = Field(description="what its earlier rate predicts for that window")


class StoryListOut(BaseModel):
    stories: list[StoryOut]
    limit: int
    offset: int


class HourCountOut(BaseModel):
    hour: str = Field(description="YYYY-MM-DDTHH, UTC")
    count: int


class StoryDetailOut(StoryOut):
    lead_article_id: str | None = Field(description="the article the story leads with (its most central)")
    volume_per_day: list[DayCountOut] = Field(description="articles per day, oldest first")
    volume_per_hour: list[HourCountOut] = Field(description="articles per hour, oldest first")
    articles: list[ArticleJSON] = Field(description="its canonical articles in time order, oldest first")


class TrendingOut(BaseModel):
    as_of: str = Field(description="the store's clock: the time of its newest article (never later than now)")
    recent_hours: float
    baseline_days: float
    stories: list[TrendingStoryOut]


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "invalid parameter"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "no such article"}, **_ERRORS}
_NO_ENTITY: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "no article mentions it"},
                                               **_ERRORS}
_BAD_QUERY: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut, "description": "malformed query"}, **_ERRORS}

_NO_STORY: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "no such story"}, **_ERRORS}

_ARTICLE_ID = Path(description="the article id", max_length=200)
_STORY_ID = Path(description="the story id", max_length=200)
MAX_STORY_OFFSET = 10_000  # the store pages stories by limit only: offsets are read through, so they are bounded


def _store(request: Request) -> Store:
    return request.app.state.store


def _related_item(item: RelatedArticle) -> RelatedItem:
    return RelatedItem(article=item.article.to_dict(), score=round(item.score, 6), reason=item.reason,
                       shared_terms=item.shared_terms)


@router.get("/articles", response_model=ArticleList, responses=_ERRORS, summary="Latest articles")
def list_articles(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=1_000_000),
    site: str | None = Query(None, max_length=300, description="only articles of this site, e.g. latimes.com"),
) -> ArticleList:
    """Newest first (publication date, else ingest time); duplicates left out."""
    articles = _store(request).latest_articles(limit=limit, offset=offset, site=site)
    return ArticleList(articles=[a.to_dict() for a in articles], limit=limit, offset=offset, site=site)


@router.get(
    "/articles/{article_id:path}/related", response_model=RelatedOut, responses=_NOT_FOUND, summary="More like this + Related"
)
def get_related(
    request: Request, article_id: str = _ARTICLE_ID, k: int = Query(5, ge=1, le=20, description="per list")
) -> RelatedOut:
    """Both lists the article page shows, each item with the reason it is listed ("same story" or
    "shares: ..."); the article's own copies and canonical are never listed."""
    store = _store(request)
    article = store.get_article(article_id)
    related, more = story_views.related_lists(store, article, k=k)
    return RelatedOut(
        article_id=article.id,
        story_id=article.story_id,
        related=[_related_item(item) for item in related],
        more_like_this=[_related_item(item) for item in more],
    )


@router.get(
    "/articles/{article_id:path}/copies", response_model=ArticleList, responses=_NOT_FOUND,
    summary="Also published by: the duplicates of an article",
)
def get_copies(request: Request, article_id: str = _ARTICLE_ID) -> ArticleList:
    """Exact and near-duplicate copies (syndicated, lightly rewritten) of a canonical article, earliest first."""
    store = _store(request)
    article = store.get_article(article_id)
    copies = store.copies_of(article.id)
    return ArticleList(articles=[a.to_dict() for a in copies], limit=len(copies), offset=0, site=None)


@router.get("/articles/{article_id:path}", response_model=ArticleJSON, responses=_NOT_FOUND, summary="One article")
def get_article(request: Request, article_id: str = _ARTICLE_ID) -> ArticleJSON:
    return _store(request).get_article(article_id).to_dict()


_QUERY_HELP = ('words, "exact phrases", a OR b, -excluded; filters entity:"Name" site:host author:text lang:en '
               "story:id after:YYYY-MM-DD before:YYYY-MM-DD; sort:date or sort:relevance")


@router.get("/search", response_model=SearchOut, responses=_BAD_QUERY, summary="Full-text search")
def search(
    request: Request,
    q: str = Query(..., max_length=1000, description=_QUERY_HELP),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=1_000_000),
    mode: Literal["keyword", "semantic", "hybrid"] = Query(
        "keyword", description="keyword: full-text; semantic: by meaning (article embeddings); hybrid: both, fused by "
                               "reciprocal rank. semantic and hybrid need the semantic extra (501 without it)"),
) -> SearchOut:
    """Best first; duplicates left out. A malformed query is a 400 with the position of the problem."""
    hits = search_articles(_store(request), q, mode=mode, limit=limit, offset=offset)
    return SearchOut(
        query=q,
        limit=limit,
        offset=offset,
        hits=[
            SearchHitOut(article=hit.article.to_dict(), score=round(hit.score, 6), snippet=plain_snippet(hit.snippet),
                         snippet_html=str(highlight_snippet(hit.snippet)))
            for hit in hits
        ],
    )


@router.get("/search/facets", response_model=SearchFacetsOut, responses=_BAD_QUERY, summary="Facets of a search")
def search_facets(
    request: Request,
    q: str = Query(..., max_length=1000, description=_QUERY_HELP),
    limit: int = Query(10, ge=1, le=50, description="values per facet"),
) -> SearchFacetsOut:
    """How all of a query's matches (duplicates left out) spread over sites, languages, entities and months."""
    facets = _store(request).search_facets(q, limit=limit)
    return SearchFacetsOut(
        query=q,
        sites=[asdict(f) for f in facets.sites],
        languages=[asdict(f) for f in facets.languages],
        entities=[asdict(e) for e in facets.entities],
        months=[asdict(f) for f in facets.months],
    )


@router.get("/popular", response_model=PopularOut, responses=_ERRORS, summary="Most-read articles")
def popular(
    request: Request,
    limit: int = Query(10, ge=1, le=100),
    days: int | None = Query(None, ge=1, le=36500, description="count views of the last N days; all time if absent"),
) -> PopularOut:
    """Reader page views; views of a duplicate count for its canonical article."""
    since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
    counts = _store(request).popular(limit=limit, since=since)
    return PopularOut(days=days, popular=[PopularItem(article=c.article.to_dict(), views=c.count) for c in counts])


@router.get("/stats", response_model=StatsOut, summary="Store counts")
def stats(request: Request) -> StatsOut:
    return StatsOut(**asdict(_store(request).stats()))


def _entity_out(entity: EntityCount) -> EntityOut:
    return EntityOut(name=entity.name, type=entity.type, articles=entity.articles)


@router.get("/entities", response_model=EntityListOut, responses=_ERRORS, summary="Most-mentioned entities")
def list_entities(
    request: Request,
    limit: int = Query(20, ge=1, le=200),
    type: str | None = Query(None, max_length=40, description="only this type, e.g. PERSON, ORG, GPE"),
) -> EntityListOut:
    """People, organisations, places... named in the most articles (duplicates left out), one row per name and type."""
    entities = _store(request).top_entities(limit=limit, type=type or None)
    return EntityListOut(type=type or None, limit=limit, entities=[_entity_out(e) for e in entities])


@router.get("/entities/{name:path}", response_model=EntityDetailOut, responses=_NO_ENTITY, summary="One entity")
def get_entity(
    request: Request,
    name: str = Path(description="the canonical name, percent-encoded", max_length=300),
    limit: int = Query(10, ge=0, le=100, description="how many of the newest articles to include"),
    cooccurring: int = Query(12, ge=0, le=100, description="how many co-occurring names to include"),
) -> EntityDetailOut:
    """Its types, how many articles mention it, how many per day, the names it is seen with, its newest articles."""
    store = _store(request)
    types = store.entity(name)
    volume = store.entity_volume(name)
    together = store.cooccurring_entities(name, limit=cooccurring) if cooccurring else []
    return EntityDetailOut(
        name=name,
        types=[EntityTypeOut(type=t.type, label=entity_type_label(t.type), articles=t.articles) for t in types],
        # Each article falls on one day, so the volume adds up to the articles (per-type counts may overlap).
        articles=sum(day.count for day in volume),
        volume=[DayCountOut(day=day.day, count=day.count) for day in volume],
        cooccurring=[_entity_out(e) for e in together],
        latest=[a.to_dict() for a in store.articles_mentioning(name, limit=limit)] if limit else [],
    )


# -- stories ----------------------------------------------------------------------------------------------------------
def _story_fields(story: StoryRow) -> dict[str, Any]:
    return {
        "id": story.id, "title": story.title, "first_seen": iso_date(story.first_seen),
        "last_seen": iso_date(story.last_seen), "article_count": story.article_count,
        "source_count": story.source_count, "top_terms": story.top_terms, "top_entities": story.top_entities,
        "archived": story.archived,
    }


@router.get("/stories", response_model=StoryListOut, responses=_ERRORS, summary="Top stories")
def list_stories(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_STORY_OFFSET),
) -> StoryListOut:
    """Stories with the most canonical articles first (most recent first among equals)."""
    rows = _store(request).top_stories(limit=offset + limit)[offset:]
    return StoryListOut(stories=[StoryOut(**_story_fields(story)) for story in rows], limit=limit, offset=offset)


@router.get("/stories/{story_id}", response_model=StoryDetailOut, responses=_NO_STORY, summary="One story")
def get_story(
    request: Request,
    story_id: str = _STORY_ID,
    limit: int = Query(200, ge=0, le=1000, description="how many of its articles to include, oldest first"),
) -> StoryDetailOut:
    """The story, its volume per day and per hour, and its articles in time order."""
    store = _store(request)
    story = store.get_story(story_id)
    articles = store.story_articles(story.id, limit=limit) if limit else []
    lead = story_views.lead_article(story, articles)
    return StoryDetailOut(
        **_story_fields(story),
        lead_article_id=lead.id if lead is not None else None,
        volume_per_day=[DayCountOut(day=day, count=count) for day, count in sorted(story.volume_per_day.items())],
        volume_per_hour=[HourCountOut(hour=hour, count=count) for hour, count in sorted(story.volume_per_hour.items())],
        articles=[article.to_dict() for article in articles],
    )


@router.get("/trending", response_model=TrendingOut, responses=_ERRORS, summary="Trending stories")
def get_trending(request: Request, limit: int = Query(10, ge=1, le=50)) -> TrendingOut:
    """Stories whose article rate in the last day rises fastest against their own rate of the week before
    (at least two recent articles), as of the store's newest article."""
    store = _store(request)
    clock = story_views.store_clock(store)
    items = story_views.trending_stories(store, limit=limit, clock=clock)
    return TrendingOut(
        as_of=clock.isoformat(),
        recent_hours=story_views.TRENDING_RECENT_HOURS,
        baseline_days=story_views.TRENDING_BASELINE_DAYS,
        stories=[TrendingStoryOut(story=StoryOut(**_story_fields(item.story)), score=item.score,
                                  recent_count=item.recent_count, expected_count=item.expected_count)
                 for item in items],
    )
