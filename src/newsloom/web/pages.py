"""The reader's pages (server-rendered HTML) and Atom feeds.

Pages read through the same library calls as the API (store methods, related.py). Text from ingested pages is only
ever passed to templates as data: Jinja escapes it (autoescape is on everywhere), and the only Markup we make
ourselves is the highlighted snippet, the JSON-LD block (both escaped before markup goes in, present.py) and the
volume chart (an SVG serialised by ElementTree, which escapes every label: charts.py).

Entity names (canonical names from the enrichment stage) hold spaces, dots, "&" and "/": their routes take a path and
links percent-encode everything but "/" (``_quoted``), like article ids and site names.
"""

from __future__ import annotations

import logging
from dataclasses import replace
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, pass_context

from .. import __version__
from ..errors import NotFoundError, QueryError, StoreError
from ..feeds import AtomFeed, feed_url_in_format, render_feed
from .conditional import conditional_response
from ..model import Article
from ..related import tokenize
from ..semantic import SEARCH_MODES, search_articles, semantic_ready
from ..store.base import ArticleCount, EntityCount, SearchFacets, Store
from . import present
from . import stories as story_views
from .charts import volume_buckets, volume_chart_svg, volume_summary

__all__ = ["router", "install_template_helpers", "PAGE_SIZE"]

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
FACET_SIZE = 8  # values per facet box on the search page
FEED_SIZE = 50
POPULAR_DAYS = 30
RELATED_COUNT = 5
ENTITY_LIST_SIZE = 24  # per group on /entities
IN_THE_NEWS_COUNT = 10  # names in the home page's "In the news" box
ARTICLE_ENTITIES_PER_GROUP = 5  # names per kind in an article's "In this article" box
COOCCURRING_COUNT = 12
HOME_STORIES = 6  # story blocks on the home page
TRENDING_COUNT = 5
STORY_PAGE_ARTICLES = 200  # articles in a story page's timeline
MAX_STORY_PAGES = 500  # /stories?page=: the store pages stories by limit only, so deep pages are bounded
_READ_METHODS = ["GET", "HEAD"]  # HEAD for link checkers and feed readers; only a GET counts as a read


def _quoted(path_params: Mapping[str, Any]) -> dict[str, str]:
    # Starlette puts path parameters into URLs as they are; ids and site names from imported records may hold
    # "?", "#", "%" or spaces, so they are percent-encoded here ("/" stays: those routes take a path).
    return {name: quote(str(value), safe="/") for name, value in path_params.items()}


@pass_context
def _path_for(context: Mapping[str, Any], name: str, /, **path_params: Any) -> str:
    """The path (not the absolute URL) of a route: links inside the reader stay right behind a reverse proxy."""
    request: Request = context["request"]
    return str(request.app.url_path_for(name, **_quoted(path_params)))


def _url(request: Request, name: str, /, **path_params: Any) -> str:
    """The absolute URL of a route (permalinks, feed ids and links that leave the page)."""
    return str(request.url_for(name, **_quoted(path_params)))


def install_template_helpers(environment: Environment) -> None:
    """Filters and globals the templates use."""
    environment.globals["path_for"] = _path_for
    environment.filters["date_label"] = present.date_label
    environment.filters["moment_label"] = present.moment_label
    environment.filters["short_date"] = present.short_date
    environment.filters["date_source"] = present.date_source_label
    environment.filters["iso_date"] = present.iso_date
    environment.filters["safe_url"] = present.safe_url
    environment.filters["excerpt"] = present.excerpt
    environment.filters["feed_in"] = feed_url_in_format  # .atom URL -> .rss / .json
    environment.filters["body_paragraphs"] = present.body_paragraphs
    environment.filters["highlight"] = present.highlight_snippet
    environment.filters["entity_type"] = present.entity_type_label
    environment.globals["version"] = __version__


def _store(request: Request) -> Store:
    return request.app.state.store


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("query", "")
    context.setdefault("feeds", [])
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def _popular(store: Store, limit: int, leave_out: str | None = None) -> list[ArticleCount]:
    since = datetime.now(timezone.utc) - timedelta(days=POPULAR_DAYS)
    counts = store.popular(limit=limit + 1, since=since)
    return [c for c in counts if c.article.id != leave_out][:limit]


def _feed_link(title: str, href: str) -> dict[str, str]:
    return {"title": title, "href": href}


def _site_feed_url(request: Request, site: str) -> str:
    return _url(request, "site_feed", site=site)


def _search_feed_url(request: Request, query: str) -> str:
    return _url(request, "search_feed") + "?" + urlencode({"q": query})


def _entity_feed_url(request: Request, name: str) -> str:
    return _url(request, "entity_feed", name=name)


def _story_feed_url(request: Request, story_id: str) -> str:
    return _url(request, "story_feed", story_id=story_id)


# The home page's box names people, organisations and places: nationalities ("American") and the like say little there.
_NEWSWORTHY_GROUPS = {"people", "organisations", "places"}


def _in_the_news(store: Store, limit: int) -> list[EntityCount]:
    """The most-mentioned people, organisations and places (one row per name)."""
    chosen: list[EntityCount] = []
    names: set[str] = set()
    for entity in store.top_entities(limit=limit * 4):
        if present.entity_group_of(entity.type).key in _NEWSWORTHY_GROUPS and entity.name not in names:
            names.add(entity.name)
            chosen.append(entity)
    return chosen[:limit]


# -- pages -------------------------------------------------------------------------------------------------------
@router.api_route("/", name="home", methods=_READ_METHODS, response_class=HTMLResponse)
def home(request: Request, page: int = Query(1, ge=1, le=10_000)) -> HTMLResponse:
    store = _store(request)
    articles = store.latest_articles(limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    first_page = page == 1
    clock = story_views.store_clock(store)
    return _render(
        request,
        "home.html",
        {
            # Stories and Trending head the first page only: the pages after it page through the latest articles.
            "stories": story_views.home_stories(store, HOME_STORIES, clock) if first_page else [],
            "trending": story_views.trending_stories(store, TRENDING_COUNT, clock) if first_page else [],
            "trending_as_of": clock,
            "articles": articles[:PAGE_SIZE],
            "page": page,
            "has_next": len(articles) > PAGE_SIZE,
            "popular": _popular(store, 8),
            "in_the_news": _in_the_news(store, IN_THE_NEWS_COUNT),
            "stats": store.stats(),
            "feeds": [_feed_link("Latest articles", _url(request, "latest_feed"))],
        },
    )


def _follow_query(store: Store, article: Article) -> str:
    """A search that follows this article's subject: its keyphrases, else the two rarest words of its headline
    (the words that name this story rather than any story, e.g. "rafah netanyahu")."""
    # Keyphrases are rebuilt from their words, so no quote or operator in one can make the query malformed.
    phrases = ['"' + " ".join(words) + '"' for words in (re.findall(r"\w+", p) for p in article.keyphrases[:3]) if words]
    if phrases:
        return " OR ".join(phrases)
    terms = list(dict.fromkeys(tokenize(article.title)))
    if not terms:
        return " ".join(tokenize(" ".join(article.paragraphs[:1]))[:2]) or "news"
    frequencies = store.document_frequencies(terms)
    rarest = sorted(terms, key=lambda term: frequencies.get(term, 0) or float("inf"))[:2]
    return " ".join(rarest)


@router.api_route("/articles/{article_id:path}", name="article_page", methods=_READ_METHODS, response_class=HTMLResponse)
def article_page(request: Request, article_id: str) -> HTMLResponse:
    store = _store(request)
    article = store.get_article(article_id)
    if request.method == "GET":
        try:
            store.record_view(article.id)
        except StoreError as exc:  # a read-only or busy store must not stop anyone from reading
            log.warning("could not record a view of %s: %s", article.id, exc)
    related, more = story_views.related_lists(store, article, k=RELATED_COUNT)
    story = story_views.story_of(store, article)
    canonical: Article | None = None
    if article.duplicate_of:
        try:
            canonical = store.get_article(article.duplicate_of)
        except NotFoundError:
            canonical = None
    permalink = _url(request, "article_page", article_id=article.id)
    share_target = present.safe_url(article.url) or permalink
    follow_query = _follow_query(store, article)
    feeds = []
    if story is not None:
        feeds.append(_feed_link(f"This story: {story.title}", _story_feed_url(request, story.id)))
    if article.site:
        feeds.append(_feed_link(f"Articles from {article.site}", _site_feed_url(request, article.site)))
    feeds.append(_feed_link(f"Articles matching “{follow_query}”", _search_feed_url(request, follow_query)))
    return _render(
        request,
        "article.html",
        {
            "article": article,
            "story": story,
            "canonical": canonical,
            "copies": store.copies_of(article.id) if canonical is None else [],
            "permalink": permalink,
            "share_links": present.share_links(article.title, share_target),
            "share_target": share_target,
            "more_like_this": more,
            "related": related,
            "popular": _popular(store, 5, leave_out=article.id),
            "entity_groups": present.group_entities(
                sorted(article.entities, key=lambda e: (-e.count, e.name)), ARTICLE_ENTITIES_PER_GROUP
            ),
            "follow_query": follow_query,
            "feeds": feeds,
            "json_ld": present.json_ld_script_body(present.article_json_ld(article, permalink)),
            "description": present.excerpt(article, 200),
        },
    )


def _narrowed(query: str, condition: str) -> str | None:
    """The query with one more filter, or None when it already holds it (the facet is then the current choice)."""
    return None if condition in query else f"{query} {condition}"


def _facet_groups(query: str, facets: SearchFacets) -> list[dict[str, Any]]:
    """Facet boxes for the search page: each value links to the query narrowed by its filter."""

    def item(label: str, count: int, condition: str) -> dict[str, Any]:
        return {"label": label, "count": count, "query": _narrowed(query, condition)}

    def month_filter(month: str) -> str:
        year, number = int(month[:4]), int(month[5:7])
        following = f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"
        return f"after:{month}-01 before:{following}-01"

    groups = [
        ("Sources", [item(f.value, f.count, f"site:{f.value}") for f in facets.sites]),
        ("Entities", [item(e.name, e.articles, f'entity:"{e.name}"') for e in facets.entities if '"' not in e.name]),
        ("Languages", [item(f.value, f.count, f"lang:{f.value}") for f in facets.languages]),
        ("Months", [item(f.value, f.count, month_filter(f.value)) for f in facets.months if len(f.value) == 7]),
    ]
    return [{"title": title, "items": items} for title, items in groups if items]


@router.api_route("/search", name="search_page", methods=_READ_METHODS, response_class=HTMLResponse)
def search_page(
    request: Request, q: str = Query("", max_length=1000), page: int = Query(1, ge=1, le=10_000),
    mode: str = Query("keyword", max_length=20),
) -> HTMLResponse:
    query = q.strip()
    # The keyword/semantic/hybrid switch is shown only where semantic search can run (extra installed, vectors stored).
    modes = SEARCH_MODES if semantic_ready(_store(request)) else ()
    mode = mode if mode in modes else "keyword"
    context: dict[str, Any] = {"query": query, "hits": [], "page": page, "has_next": False, "error": None,
                               "facet_groups": [], "modes": modes, "mode": mode}
    if not query:
        return _render(request, "search.html", context)
    try:
        hits = search_articles(_store(request), query, mode=mode, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        facets = _store(request).search_facets(query, limit=FACET_SIZE) if hits else None
    except QueryError as exc:
        context["error"] = str(exc)
        return _render(request, "search.html", context, status_code=400)
    context.update(
        hits=hits[:PAGE_SIZE],
        has_next=len(hits) > PAGE_SIZE,
        facet_groups=_facet_groups(query, facets) if facets else [],
        feeds=[_feed_link(f"Search: {query}", _search_feed_url(request, query))],
    )
    return _render(request, "search.html", context)


@router.api_route("/sites/{site:path}", name="site_page", methods=_READ_METHODS, response_class=HTMLResponse)
def site_page(request: Request, site: str, page: int = Query(1, ge=1, le=10_000)) -> HTMLResponse:
    articles = _store(request).latest_articles(limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, site=site)
    if not articles and page == 1:
        raise NotFoundError(f"no articles from {site!r} in this store")
    return _render(
        request,
        "site.html",
        {
            "site": site,
            "articles": articles[:PAGE_SIZE],
            "page": page,
            "has_next": len(articles) > PAGE_SIZE,
            "feeds": [_feed_link(f"Articles from {site}", _site_feed_url(request, site))],
        },
    )


@router.api_route("/status", name="status_page", methods=_READ_METHODS, response_class=HTMLResponse)
def status_page(request: Request) -> HTMLResponse:
    """Health of every polled source (what ``newsloom sources list`` shows), for people running ``newsloom watch``."""
    store = _store(request)
    return _render(request, "status.html", {"sources": store.list_sources(), "stats": store.stats()})


@router.api_route("/entities", name="entities_page", methods=_READ_METHODS, response_class=HTMLResponse)
def entities_page(request: Request) -> HTMLResponse:
    """The most-mentioned names, by kind: people, organisations, places, then the rest."""
    store = _store(request)
    groups = []
    for group in present.ENTITY_GROUPS:
        # One query per type keeps each kind's list full even when another kind dominates the store.
        rows = [row for entity_type in group.types
                for row in store.top_entities(limit=ENTITY_LIST_SIZE, type=entity_type)]
        rows.sort(key=lambda row: (-row.articles, row.name))
        groups += present.group_entities(rows, ENTITY_LIST_SIZE, groups=[group])
    return _render(request, "entities.html", {"groups": groups})


@router.api_route("/entities/{name:path}", name="entity_page", methods=_READ_METHODS, response_class=HTMLResponse)
def entity_page(request: Request, name: str, page: int = Query(1, ge=1, le=10_000)) -> Response:
    if not name:  # "/entities/": the list
        return RedirectResponse(str(request.app.url_path_for("entities_page")), status_code=308)
    store = _store(request)
    try:
        types = store.entity(name)
    except NotFoundError as exc:
        return _render(
            request, "error.html",
            {"status": 404, "title": "Not found", "message": str(exc), "search_hint": name},
            status_code=404,
        )
    volume = store.entity_volume(name)
    articles = store.articles_mentioning(name, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    names_seen = {name}
    cooccurring = []
    for other in store.cooccurring_entities(name, limit=COOCCURRING_COUNT + 4):
        if other.name not in names_seen:  # a name tagged with two types is listed once
            names_seen.add(other.name)
            cooccurring.append(other)
    buckets = volume_buckets(volume)
    return _render(
        request,
        "entity.html",
        {
            "name": name,
            "types": types,
            # Each article has one day in the volume, so the sum counts articles (the per-type counts may overlap).
            "article_count": buckets.total,
            "chart": volume_chart_svg(volume, title=f"Articles mentioning {name} over time"),
            "chart_summary": volume_summary(buckets),
            "articles": articles[:PAGE_SIZE],
            "page": page,
            "has_next": len(articles) > PAGE_SIZE,
            "cooccurring": cooccurring[:COOCCURRING_COUNT],
            "feed_url": _entity_feed_url(request, name),
            "feeds": [_feed_link(f"Articles mentioning {name}", _entity_feed_url(request, name))],
        },
    )


@router.api_route("/stories", name="stories_page", methods=_READ_METHODS, response_class=HTMLResponse)
def stories_page(request: Request, page: int = Query(1, ge=1, le=MAX_STORY_PAGES)) -> HTMLResponse:
    """Every story, biggest first (most canonical articles, most recent among equals), as story blocks."""
    store = _store(request)
    rows = store.top_stories(limit=page * PAGE_SIZE + 1)
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return _render(
        request,
        "stories.html",
        {
            "cards": [story_views.story_card(store, story) for story in shown],
            "page": page,
            "has_next": len(rows) > page * PAGE_SIZE and page < MAX_STORY_PAGES,
        },
    )


def _entity_links(store: Store, names: list[str]) -> list[dict[str, Any]]:
    """The story's top names, each marked known (an entity page exists) or not (linked to a search instead):
    without the NER extra the clusterer's names are proper nouns no entity page knows."""
    links = []
    for name in names:
        try:
            store.entity(name)
            known = True
        except NotFoundError:
            known = False
        links.append({"name": name, "known": known})
    return links


@router.api_route("/stories/{story_id}", name="story_page", methods=_READ_METHODS, response_class=HTMLResponse)
def story_page(request: Request, story_id: str) -> Response:
    store = _store(request)
    story = store.get_story(story_id)
    if story.id != story_id:  # merged into another story: old links move there for good
        return RedirectResponse(_url(request, "story_page", story_id=story.id), status_code=301)
    articles = store.story_articles(story.id, limit=STORY_PAGE_ARTICLES)
    lead = story_views.lead_article(story, articles)
    chart, chart_summary = story_views.story_chart(story)
    summary = story_views.story_summary(lead)
    feed_url = _story_feed_url(request, story.id)
    return _render(
        request,
        "story.html",
        {
            "story": story,
            "lead": lead,
            "summary": summary,
            "chart": chart,
            "chart_summary": chart_summary,
            # Each article with how many copies of it other outlets published ("also published by").
            "timeline": [(article, len(store.copies_of(article.id))) for article in articles],
            "entities": _entity_links(store, story.top_entities[:10]),
            "sources": story_views.story_sources(articles),
            "feed_url": feed_url,
            "feeds": [_feed_link(f"This story: {story.title}", feed_url)],
            "description": summary[:200],
        },
    )


@router.api_route("/docs", name="api_docs", methods=_READ_METHODS, response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The API reference, rendered from the OpenAPI document (no CDN assets, no inline script)."""
    spec = request.app.openapi()
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, operation in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "where": p.get("in"),
                            "required": p.get("required", False),
                            "type": _schema_type(p.get("schema", {})),
                            "default": p.get("schema", {}).get("default"),
                            "description": p.get("description") or p.get("schema", {}).get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "responses": sorted(operation.get("responses", {}).items()),
                }
            )
    return _render(request, "docs.html", {"spec": spec, "operations": operations, "spec_url": request.app.openapi_url})


def _schema_type(schema: dict[str, Any]) -> str:
    if "type" in schema:
        bounds = [f"{label} {schema[key]}" for key, label in (("minimum", "≥"), ("maximum", "≤")) if key in schema]
        return schema["type"] + (f" ({', '.join(bounds)})" if bounds else "")
    if "anyOf" in schema:
        return " or ".join(_schema_type(s) for s in schema["anyOf"])
    return "any"


# -- feeds -------------------------------------------------------------------------------------------------------
def _atom_response(request: Request, feed: AtomFeed, articles: list[Article]) -> Response:
    """The feed in the format the path asks for (.atom, .rss or .json), with an ETag honouring If-None-Match."""
    def page_url(article: Article) -> str:
        return _url(request, "article_page", article_id=article.id)

    feed_format = request.url.path.rsplit(".", 1)[-1]
    if feed_format != "atom":  # every route is registered for .atom, .rss and .json; the self link is this one
        feed = replace(feed, feed_id=str(request.url), self_url=str(request.url))
    body, media_type = render_feed(feed_format, feed, articles, page_url)
    return conditional_response(request, body, f"{media_type}; charset=utf-8")


@router.api_route("/feeds/latest.atom", name="latest_feed", methods=_READ_METHODS)
@router.api_route("/feeds/latest.rss", name="latest_feed_rss", methods=_READ_METHODS)
@router.api_route("/feeds/latest.json", name="latest_feed_json", methods=_READ_METHODS)
def latest_feed(request: Request) -> Response:
    self_url = _url(request, "latest_feed")
    feed = AtomFeed(self_url, "newsloom: latest articles", self_url, _url(request, "home"))
    return _atom_response(request, feed, _store(request).latest_articles(limit=FEED_SIZE))


@router.api_route("/feeds/sites/{site:path}.atom", name="site_feed", methods=_READ_METHODS)
@router.api_route("/feeds/sites/{site:path}.rss", name="site_feed_rss", methods=_READ_METHODS)
@router.api_route("/feeds/sites/{site:path}.json", name="site_feed_json", methods=_READ_METHODS)
def site_feed(request: Request, site: str) -> Response:
    articles = _store(request).latest_articles(limit=FEED_SIZE, site=site)
    if not articles:
        raise NotFoundError(f"no articles from {site!r} in this store")
    self_url = _site_feed_url(request, site)
    feed = AtomFeed(self_url, f"newsloom: {site}", self_url, _url(request, "site_page", site=site))
    return _atom_response(request, feed, articles)


@router.api_route("/feeds/entities/{name:path}.atom", name="entity_feed", methods=_READ_METHODS)
@router.api_route("/feeds/entities/{name:path}.rss", name="entity_feed_rss", methods=_READ_METHODS)
@router.api_route("/feeds/entities/{name:path}.json", name="entity_feed_json", methods=_READ_METHODS)
def entity_feed(request: Request, name: str) -> Response:
    """The newest articles mentioning one entity (canonical name), newest first."""
    articles = _store(request).articles_mentioning(name, limit=FEED_SIZE)
    if not articles:
        raise NotFoundError(f"no article mentions {name!r}")
    self_url = _entity_feed_url(request, name)
    feed = AtomFeed(self_url, f"newsloom: {name}", self_url, _url(request, "entity_page", name=name),
                    subtitle=f"Articles mentioning {name}")
    return _atom_response(request, feed, articles)


@router.api_route("/feeds/stories/{story_id}.atom", name="story_feed", methods=_READ_METHODS)
@router.api_route("/feeds/stories/{story_id}.rss", name="story_feed_rss", methods=_READ_METHODS)
@router.api_route("/feeds/stories/{story_id}.json", name="story_feed_json", methods=_READ_METHODS)
def story_feed(request: Request, story_id: str) -> Response:
    """A story's newest articles first, so a feed reader sees new coverage at the top."""
    store = _store(request)
    story = store.get_story(story_id)
    articles = store.story_articles(story.id, limit=STORY_PAGE_ARTICLES)[-FEED_SIZE:][::-1]
    self_url = _story_feed_url(request, story.id)
    feed = AtomFeed(self_url, f"newsloom story: {story.title}", self_url, _url(request, "story_page", story_id=story.id),
                    subtitle=f"{story.article_count} articles from {story.source_count} sources")
    return _atom_response(request, feed, articles)


@router.api_route("/feeds/search.atom", name="search_feed", methods=_READ_METHODS)
@router.api_route("/feeds/search.rss", name="search_feed_rss", methods=_READ_METHODS)
@router.api_route("/feeds/search.json", name="search_feed_json", methods=_READ_METHODS)
def search_feed(request: Request, q: str = Query(..., max_length=1000)) -> Response:
    """Newest matches first, so a feed reader sees new articles at the top."""
    hits = _store(request).search(q.strip(), limit=FEED_SIZE)
    articles = sorted((hit.article for hit in hits), key=_newest_first_key, reverse=True)
    self_url = _search_feed_url(request, q.strip())
    alternate = _url(request, "search_page") + "?" + urlencode({"q": q.strip()})
    feed = AtomFeed(self_url, f"newsloom search: {q.strip()}", self_url, alternate)
    return _atom_response(request, feed, articles)


def _newest_first_key(article: Article) -> float:
    moment = article.published_at or article.fetched_at
    if moment is None:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
