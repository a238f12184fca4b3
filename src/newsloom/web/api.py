"""The JSON API under /api/: thin wrappers over the store and related.py, documented in /openapi.json.

Articles are ``Article.to_dict()``; entities are addressed by canonical name (percent-encoded; "/" may stay).
Errors (404, 422 validation, 400 bad query) all have the shape of ``ErrorOut``;
the handlers that produce it live in app.py so that pages and API share one error path.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from ..related import RelatedArticle, more_like_this, related_articles
from ..store.base import EntityCount, Store
from .present import entity_type_label, highlight_snippet, plain_snippet

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
    more_like_this: list[RelatedItem] = Field(description="nearest whole-text neighbours (TF-IDF cosine)")
    related: list[RelatedItem] = Field(description="same subject by headline and lead; excludes more_like_this")


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


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "invalid parameter"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "no such article"}, **_ERRORS}
_NO_ENTITY: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "no article mentions it"},
                                               **_ERRORS}
_BAD_QUERY: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut, "description": "malformed query"}, **_ERRORS}

_ARTICLE_ID = Path(description="the article id", max_length=200)


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
    """Both lists the article page shows, each item with the reason it is listed."""
    store = _store(request)
    article = store.get_article(article_id)
    more = more_like_this(store, article, k=k)
    related = related_articles(store, article, k=k, exclude={item.article.id for item in more})
    return RelatedOut(
        article_id=article.id,
        more_like_this=[_related_item(item) for item in more],
        related=[_related_item(item) for item in related],
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


@router.get("/search", response_model=SearchOut, responses=_BAD_QUERY, summary="Full-text search")
def search(
    request: Request,
    q: str = Query(..., max_length=1000, description='words, "exact phrases", a OR b, -excluded'),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> SearchOut:
    """Best first; duplicates left out. A malformed query is a 400 with the position of the problem."""
    hits = _store(request).search(q, limit=limit, offset=offset)
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
