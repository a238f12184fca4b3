"""Stories in the reader and the API: story cards (lead article, other sources, timeline), Trending, the story's
volume chart, and Related / More like this with same-story articles first.

    story_card(store, story) -> StoryCard                 the home page's Full Coverage block
    home_stories(store, limit) -> list[StoryCard]         the biggest recent stories of two or more articles
    trending_stories(store, limit) -> list[TrendingItem]  stories.trending() over the recently active stories
    story_chart(story) -> (Markup, summary)               per hour when the story spans < 3 days, else per day
    related_lists(store, article, k) -> (related, more)   same story first, then TF-IDF neighbours (related.py)

Everything reads through the store's story methods; the clusterer's own records are never touched here. "Now" for
Trending and the home page is the store's clock: the time of its newest article (never later than the wall
clock), so a reader over an archive still shows what was rising when the archive ends.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from ..errors import NotFoundError
from ..model import Article
from ..related import RelatedArticle, more_like_this, related_articles, tokenize
from ..store.base import DayCount, Store, StoryRow
from ..stories.clusterer import StoryRecord
from ..stories.trending import trending
from .charts import (
    hourly_buckets,
    hourly_chart_svg,
    volume_buckets,
    volume_chart_svg,
    volume_summary,
)
from .present import excerpt

__all__ = [
    "SAME_STORY",
    "StoryCard",
    "TrendingItem",
    "day_points",
    "home_stories",
    "lead_article",
    "other_sources",
    "related_lists",
    "store_clock",
    "story_card",
    "story_chart",
    "story_of",
    "story_sources",
    "story_summary",
    "trending_stories",
]

SAME_STORY = "same story"
CARD_ARTICLES = 60  # articles read per story card: enough to find the lead and a few other sources
CARD_STANDFIRST = 240  # characters of the lead's summary on a card
OTHER_SOURCES = 3  # other sources' headlines under a card's lead
TOP_STORY_DAYS = 7  # the home page's top stories: seen in the last week of the store's clock
HOURLY_SPAN = timedelta(days=3)  # shorter stories are charted per hour
TRENDING_RECENT_HOURS = 24.0
TRENDING_BASELINE_DAYS = 7.0
TRENDING_POOL = 300  # recently active stories scored for Trending
MIN_TRENDING_ARTICLES = 2  # one new article is news, not a trend
RELATED_STORY_ARTICLES = 200  # same-story articles read for Related (and left out of the TF-IDF lists)


@dataclass(slots=True)
class StoryCard:
    """A story as the home page shows it: the lead article, a few other sources' headlines, first/last seen."""

    story: StoryRow
    lead: Article | None
    others: list[Article] = field(default_factory=list)
    standfirst: str = ""  # the lead's summary, short, without the headline it often repeats


@dataclass(slots=True)
class TrendingItem:
    story: StoryRow
    score: float  # (recent + prior) / (expected + prior): how many times its usual rate
    recent_count: int  # articles in the last ``TRENDING_RECENT_HOURS``
    expected_count: float  # what its own earlier rate predicts for that window


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def store_clock(store: Store, wall_clock: datetime | None = None) -> datetime:
    """The time of the store's newest article (publication, else ingest time), never later than the wall clock."""
    now = _aware(wall_clock or datetime.now(UTC))
    newest = store.latest_articles(limit=1)
    moment = (newest[0].published_at or newest[0].fetched_at) if newest else None
    return min(_aware(moment), now) if moment is not None else now


# -- story cards -----------------------------------------------------------------------------------------------------
def lead_article(story: StoryRow, articles: list[Article]) -> Article | None:
    """The story's most central article (the clusterer titles a story after it), else its earliest one.
    ``articles`` are the story's canonical articles, oldest first."""
    central = next((a for a in articles if a.title and a.title == story.title), None)
    return central or (articles[0] if articles else None)


def other_sources(lead: Article | None, articles: list[Article], limit: int = OTHER_SOURCES) -> list[Article]:
    """One headline per other site (the earliest of each), as Full Coverage lists other outlets under the lead."""
    seen_sites = {lead.site} if lead is not None else set()
    chosen: list[Article] = []
    for article in articles:
        if lead is not None and article.id == lead.id:
            continue
        site = article.site or article.id  # an article without a site is its own source
        if site in seen_sites:
            continue
        seen_sites.add(site)
        chosen.append(article)
        if len(chosen) >= limit:
            break
    return chosen


def story_card(store: Store, story: StoryRow) -> StoryCard:
    articles = store.story_articles(story.id, limit=CARD_ARTICLES)
    lead = lead_article(story, articles)
    return StoryCard(story, lead, other_sources(lead, articles), story_summary(lead, CARD_STANDFIRST))


def home_stories(store: Store, limit: int, clock: datetime | None = None) -> list[StoryCard]:
    """The biggest stories of two or more articles seen in the week before the store's clock; when none is that
    recent (or none is dated), the biggest stories of all."""
    since = (clock or store_clock(store)) - timedelta(days=TOP_STORY_DAYS)
    stories = [s for s in store.top_stories(limit=limit, since=since) if s.article_count >= 2]
    if not stories:
        stories = [s for s in store.top_stories(limit=limit) if s.article_count >= 2]
    return [story_card(store, story) for story in stories]


def story_summary(lead: Article | None, limit: int = 420) -> str:
    """The lead article's summary (else its excerpt) without a repeated headline, cut at a sentence end near
    ``limit`` characters: a story page's standfirst, not the whole article."""
    if lead is None:
        return ""
    text = (lead.summary or excerpt(lead, limit)).strip()
    if lead.title and text.startswith(lead.title):
        text = text[len(lead.title):].lstrip(" .:-\u2013\u2014\n")  # extractors often repeat the headline first
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > limit // 3 else text[:limit].rsplit(" ", 1)[0] + "…"


def story_sources(articles: list[Article]) -> list[tuple[str, int]]:
    """(site, articles) of the story's sources, most articles first, then by name."""
    counts = Counter(article.site for article in articles if article.site)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# -- trending -----------------------------------------------------------------------------------------------------
def _as_record(story: StoryRow) -> StoryRecord:
    # trending() reads the stories module's records; the store's rows carry every field it needs.
    return StoryRecord(
        id=story.id, title=story.title, first_seen=story.first_seen, last_seen=story.last_seen, article_ids=[],
        article_count=story.article_count, top_terms=story.top_terms, top_entities=story.top_entities,
        volume_per_day=story.volume_per_day, volume_per_hour=story.volume_per_hour, archived=story.archived,
    )


def trending_stories(store: Store, limit: int = 5, clock: datetime | None = None) -> list[TrendingItem]:
    """Stories whose article rate rises fastest against their own baseline (``stories.trending``), among the
    stories seen in the last day before the store's clock; a story needs ``MIN_TRENDING_ARTICLES`` recent ones."""
    now = clock or store_clock(store)
    pool = store.top_stories(limit=TRENDING_POOL, since=now - timedelta(hours=TRENDING_RECENT_HOURS))
    by_id = {story.id: story for story in pool}
    ranked = trending((_as_record(story) for story in pool), now, recent_hours=TRENDING_RECENT_HOURS,
                      baseline_days=TRENDING_BASELINE_DAYS)
    items = [TrendingItem(by_id[t.story_id], t.score, t.recent_count, t.expected_count)
             for t in ranked if t.recent_count >= MIN_TRENDING_ARTICLES and t.score > 1.0]
    return items[:limit]


# -- the story page's chart ----------------------------------------------------------------------------------------
def day_points(story: StoryRow) -> list[DayCount]:
    return [DayCount(day, count) for day, count in sorted(story.volume_per_day.items())]


def _per_hour(story: StoryRow) -> bool:
    if not story.volume_per_hour or story.first_seen is None or story.last_seen is None:
        return False
    return _aware(story.last_seen) - _aware(story.first_seen) < HOURLY_SPAN


def story_chart(story: StoryRow) -> tuple[Markup, str]:
    """The volume-over-time chart and its one-sentence summary: per hour for a story of under three days."""
    title = f"Articles in this story over time: {story.title}"
    if _per_hour(story):
        return hourly_chart_svg(story.volume_per_hour, title=title), volume_summary(
            hourly_buckets(story.volume_per_hour))
    points = day_points(story)
    return volume_chart_svg(points, title=title), volume_summary(volume_buckets(points))


# -- related --------------------------------------------------------------------------------------------------------
def _term_vector(article: Article) -> dict[str, float]:
    counts = Counter(tokenize(article.title + "\n" + article.title + "\n" + article.text[:3000]))
    vector = {term: 1.0 + math.log(count) for term, count in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


def _same_story(store: Store, article: Article, leave_out: set[str]) -> tuple[list[RelatedArticle], set[str]]:
    """The other articles of the article's story, closest in wording first, and every id of the story read."""
    if not article.story_id:
        return [], set()
    members = store.story_articles(article.story_id, limit=RELATED_STORY_ARTICLES)
    own = _term_vector(article)
    items = []
    for member in members:
        if member.id in leave_out:
            continue
        other = _term_vector(member)
        contributions = {term: own[term] * other[term] for term in own.keys() & other.keys()}
        shared = [term for term, _ in sorted(contributions.items(), key=lambda item: -item[1])[:4]]
        items.append(RelatedArticle(member, sum(contributions.values()), SAME_STORY, shared))
    items.sort(key=lambda item: -item.score)
    return items, {member.id for member in members}


def related_lists(store: Store, article: Article, k: int) -> tuple[list[RelatedArticle], list[RelatedArticle]]:
    """(Related, More like this) for the article page and the API: each starts with articles of the same story
    (reason "same story"; Related takes the first ``k``, More like this the next ``k``), then fills up with the
    TF-IDF neighbours of related.py from other stories. The article, its copies and its canonical are never
    listed, and nothing is listed twice."""
    shown = {article.id} | {copy.id for copy in store.copies_of(article.id)}
    if article.duplicate_of:
        shown.add(article.duplicate_of)
    same, story_ids = _same_story(store, article, shown)
    shown |= story_ids  # the rest of the story is not offered again as a mere TF-IDF neighbour
    related = same[:k]
    more = same[k:2 * k]
    # As before stories existed: More like this picks its TF-IDF neighbours first, Related then leaves them out.
    if len(more) < k:
        more += more_like_this(store, article, k=k - len(more), exclude=shown)
    shown |= {item.article.id for item in more}
    if len(related) < k:
        related += related_articles(store, article, k=k - len(related), exclude=shown)
    return related, more


def story_of(store: Store, article: Article) -> StoryRow | None:
    """The article's story, or None (not clustered yet, or the story was merged away before a re-point)."""
    if not article.story_id:
        return None
    try:
        return store.get_story(article.story_id)
    except NotFoundError:
        return None
