"""Streaming story clustering: each article, in publication order, joins a live story or opens a new one.

How one decision is made (``StoryClusterer.add``):

1. The article becomes two unit vectors: sublinear TF-IDF over title (counted ``title_weight`` times) and the
   lead of the body, with document frequencies kept up to date as the stream goes; and an entity vector over
   the given entities, or proper nouns found in the text when none are given.
2. Candidate stories come from an inverted index over each live story's top centroid terms and top entities,
   walked from the article's rarest term down under a budget of postings; a term shared by more than
   ``posting_cap`` stories contributes only its most recently updated ones. Only live stories (within the time
   window) are indexed, so the cost per article stays flat however many stories are known. The query also
   holds the article's ``query_frequent_terms`` most repeated terms: its heaviest terms are its rarest (often a
   name new to the stream), while an ongoing story is indexed by what it keeps repeating.
3. Each candidate is scored ``(1 - entity_weight) * text_cosine + entity_weight * entity_cosine`` against its
   centroid, times a time factor: ``1 + near_time_bonus`` while the article falls within ``grace_days`` of the
   story's time span (being published in the same days is evidence of its own), then decaying as
   ``exp(-extra_days / decay_days)``. Two earthquakes a year apart are two stories. Undated articles get 1.
   A candidate whose score before the time factor is below ``overshadow_ratio`` of the best candidate's is
   dropped: an article much closer to an older story than to a recent look-alike is that story's follow-up (or
   an event of its own), not the look-alike's.
4. Two thresholds: at or above ``join_similarity`` the article joins; between ``ambiguous_similarity`` and
   it, the article joins only if it is close to one of the story's own articles (``member_similarity``),
   which keeps a broad story from swallowing a neighbouring event of the same kind.
5. When the article was also close to a second story, the two centroids are compared and the stories merged
   if they are one (``merge_similarity``); the assignment lists the absorbed ids so a store can re-point them,
   and ``resolve`` / ``story`` follow an absorbed id to its survivor (the store keeps the same redirects).

A story's title is the headline of its lead article (the member closest to the centroid), never a bare wire
dateline such as "WASHINGTON (Reuters) -" (see ``text.headline_of``).

Late articles (published before the stream's clock) are scored against story time spans, so they join the
story they belong to as long as it is live. Stories idle longer than ``window_days`` (or, in undated streams,
for ``idle_articles`` articles) are archived: dropped from the index, kept as plain ``StoryRecord`` values
until ``pop_archived`` hands them to the caller. All state is plain data (``to_state`` / ``from_state``;
``state_json`` encodes it story by story, vectors as base64 float64, for checkpoints).

Memory per live story is kept small without changing a decision: a one-article story (most stories) holds its
article's vectors once, as its sums, its centroids and its member's vectors at the same time; from the second
article on, member vectors and the sums of small stories are packed (a tuple of terms and a float64 array, the
same numbers as the dicts); only the centroids, read for every candidate, stay dicts. Index keys of one story
have a ``(story_id, weight)`` pair for posting, and words and entity keys are interned strings shared by all.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import islice, repeat
from operator import itemgetter, mul
from typing import Any

from newsloom.errors import InputError, NotFoundError
from newsloom.model import EntityMention
from newsloom.stories.text import (
    STOPWORDS,
    DocumentFrequencies,
    RepeatedLines,
    cosine,
    forget_token_caches,
    headline_of,
    normalise_word,
    proper_nouns_of,
    strip_dateline,
    surface_entry,
    surface_of,
    tf_idf,
    top_terms,
    unit,
    weighted_vector,
    word_counts,
    words_of,
)

__all__ = [
    "StoryOptions",
    "StoryAssignment",
    "StoryRecord",
    "RelatedArticle",
    "StoryClusterer",
]

_DAY = 86_400.0
# Sums of stories up to this size are packed between joins (a refresh at each join unpacks them anyway); bigger
# stories, few and refreshed only every size/8 joins, keep dict sums that a join adds into directly.
_PACKED_SUMS_UP_TO = 16
_STATE_VERSION = 2  # 1 wrote vectors as {term: weight} objects and a one-article story's vectors three times
_READABLE_STATE_VERSIONS = (1, 2)
_ENTITY_PREFIX = "\x00"  # entity keys share the frequency table and the index with words under this prefix
_TITLE_SEPARATOR = re.compile(r"\s+[-|–—:]{1,2}\s+")  # "Headline - Site Name", "Headline | Site"


@dataclass(slots=True)
class StoryOptions:
    """Tuning of the clusterer. The defaults were chosen once for three different labelled sets together
    (ECB+, News-Cluster, GVA shootings; see bench/stories.py) and are not tuned to any one of them."""

    join_similarity: float = 0.27
    ambiguous_similarity: float = 0.15
    member_similarity: float = 0.35
    merge_similarity: float = 0.55
    entity_weight: float = 0.35
    title_weight: float = 2.0
    max_body_chars: int = 2_500
    article_terms: int = 60
    centroid_terms: int = 100
    index_terms: int = 20
    query_terms: int = 15
    query_entities: int = 5
    index_entities: int = 8
    postings_budget: int = 400
    posting_cap: int = 64
    members_checked: int = 20
    candidates: int = 6
    query_frequent_terms: int = 3  # the article's most repeated terms are asked of the index too
    overshadow_ratio: float = 0.75  # 0: off
    grace_days: float = 2.0
    near_time_bonus: float = 0.2
    decay_days: float = 20.0
    window_days: float = 60.0
    idle_articles: int = 200_000
    max_active_stories: int = 300_000
    members_kept: int = 100
    max_redirects: int = 100_000
    max_vocabulary: int = 2_000_000
    boilerplate_stories: int = 2  # a line or title segment met in this many stories is page furniture; 0: off
    max_boilerplate_lines: int = 100_000
    housekeeping_articles: int = 5_000  # how often one-off terms, lines and names of older articles are forgotten

    def __post_init__(self) -> None:
        if not 0.0 <= self.entity_weight <= 1.0:
            raise ValueError("entity_weight must be within [0, 1]")
        if self.ambiguous_similarity > self.join_similarity:
            raise ValueError("ambiguous_similarity must not exceed join_similarity")
        if self.window_days <= 0 or self.decay_days <= 0:
            raise ValueError("window_days and decay_days must be positive")
        if not 0 <= self.boilerplate_stories <= 255:  # the per-line story counter is one byte
            raise ValueError("boilerplate_stories must be within [0, 255]")
        if self.max_boilerplate_lines < 2:
            raise ValueError("max_boilerplate_lines must be at least 2")
        if self.housekeeping_articles < 1:
            raise ValueError("housekeeping_articles must be at least 1")


@dataclass(slots=True, frozen=True)
class StoryAssignment:
    """The decision for one article. ``merged_from`` lists stories absorbed into ``story_id`` by this add."""

    story_id: str
    is_new: bool
    merged_from: tuple[str, ...] = ()


@dataclass(slots=True)
class StoryRecord:
    """A story as plain data, for the store and the reader (times in UTC; None for undated streams)."""

    id: str
    title: str
    first_seen: datetime | None
    last_seen: datetime | None
    article_ids: list[str]
    article_count: int
    top_terms: list[str]
    top_entities: list[str]
    volume_per_day: dict[str, int]
    volume_per_hour: dict[str, int]
    archived: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("first_seen", "last_seen"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


@dataclass(slots=True, frozen=True)
class RelatedArticle:
    """One related article with the reason it is shown ("same story" or "shares: Hamas, Rafah")."""

    article_id: str
    story_id: str
    score: float
    reason: str


class _Packed:
    """A unit vector kept for later (a member's): its terms in a tuple, their weights in a float64 array.

    About a third of the memory of the same ``dict`` (no hash table, no float objects) and the same numbers, so
    scores computed from it are those of the dict (summed in the vector's order).
    """

    __slots__ = ("terms", "weights")

    def __init__(self, terms: tuple[str, ...], weights: array[float]) -> None:
        self.terms = terms
        self.weights = weights

    @classmethod
    def of(cls, vector: Mapping[str, float]) -> _Packed:
        if not vector:
            return _EMPTY
        return cls(tuple(vector), array("d", list(vector.values())))  # from a list: allocated to size

    def __len__(self) -> int:
        return len(self.terms)

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.terms, self.weights))

    def dot(self, other: Mapping[str, float]) -> float:
        """Dot product with a dict vector; the look-ups and the products run in C."""
        return sum(map(mul, self.weights, map(other.get, self.terms, repeat(0.0))))


_EMPTY = _Packed((), array("d"))

# A vector as kept by a member: the dict itself while its story has that one article (then the same object is the
# story's sum and centroid), packed from the second article on.
_Vector = dict[str, float] | _Packed


def _as_dict(vector: _Vector) -> dict[str, float]:
    return vector.as_dict() if isinstance(vector, _Packed) else vector


def _packed(vector: _Vector) -> _Packed:
    return vector if isinstance(vector, _Packed) else _Packed.of(vector)


def _optional_float(value: Any) -> float | None:
    """A restored time: None, or a number (a malformed state raises ValueError/TypeError, turned into InputError)."""
    return None if value is None else float(value)


def _entity_key(key: str) -> str:
    """An entity's key in the index and the frequency table; interned, as many stories index the same entity."""
    return sys.intern(_ENTITY_PREFIX + key)


def _items(vector: _Vector) -> Iterable[tuple[str, float]]:
    return zip(vector.terms, vector.weights) if isinstance(vector, _Packed) else vector.items()


def _similarity(left: _Vector, right: _Vector) -> float:
    """Cosine of two unit vectors, each a dict or packed."""
    if isinstance(left, _Packed):
        left, right = right, left
    if isinstance(left, _Packed):  # both packed (related articles only): unpack one
        left = left.as_dict()
    return right.dot(left) if isinstance(right, _Packed) else cosine(left, right)


@dataclass(slots=True)
class _Member:
    article_id: str
    title: str
    vector: _Vector
    entities: _Vector
    published: float | None
    sequence: int


@dataclass(slots=True)
class _Story:
    """A live story. While it has one article, ``text_sum``, ``centroid`` and that member's ``vector`` are one
    dict (and so are the entity sum, centroid and vector); from the second article on, the sums and the members'
    vectors are packed and only the centroids, read for every candidate, stay dicts."""

    id: str
    sequence: int  # when it was opened; the older story survives a merge
    text_sum: _Vector = field(default_factory=dict)
    entity_sum: _Vector = field(default_factory=dict)
    centroid: dict[str, float] = field(default_factory=dict)
    entity_centroid: dict[str, float] = field(default_factory=dict)
    indexed_terms: tuple[str, ...] = ()
    members: list[_Member] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    first_seen: float | None = None
    last_seen: float | None = None
    last_sequence: int = 0
    volume_per_hour: Counter[str] = field(default_factory=Counter)
    earliest: tuple[float, int, str] | None = None  # (time or inf, sequence, title) of the earliest article


def _timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InputError(f"published_at must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # naive times are taken as UTC
    return value.timestamp()


def _datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


_HOUR_KEYS: dict[int, str] = {}


def _hour_key(value: float) -> str:
    hour = int(value // 3600)
    key = _HOUR_KEYS.get(hour)
    if key is None:  # strftime is slow and a stream's articles fall in few hours: remember the recent ones
        if len(_HOUR_KEYS) > 10_000:
            _HOUR_KEYS.clear()
        key = _HOUR_KEYS[hour] = datetime.fromtimestamp(hour * 3600, tz=timezone.utc).strftime("%Y-%m-%dT%H")
    return key


def _add_into(total: dict[str, float], vector: Mapping[str, float]) -> None:
    get = total.get
    for term, weight in vector.items():
        total[term] = get(term, 0.0) + weight


def _heaviest(vector: dict[str, float], count: int) -> dict[str, float]:
    """The ``count`` heaviest entries of ``vector``."""
    return {term: vector[term] for term in top_terms(vector, count)}


def _last_seen_of(story: _Story) -> float | None:
    return story.last_seen


def _last_sequence_of(story: _Story) -> int:
    return story.last_sequence


def story_id_for(article_id: str) -> str:
    """Stable story id, derived from the article that opened the story."""
    return "s" + hashlib.sha256(("story:" + article_id).encode("utf-8")).hexdigest()[:15]


def _entity_keys(
    entities: Iterable[EntityMention | tuple[str, str] | Mapping[str, Any] | str], display: dict[str, str]
) -> list[str]:
    """Lower-cased entity names, each multi-word name also as its words (so "Reid" meets "Tara Reid")."""
    keys: list[str] = []
    for entity in entities:
        if isinstance(entity, EntityMention):
            name = entity.name
        elif isinstance(entity, tuple) and entity:
            name = str(entity[0])
        elif isinstance(entity, Mapping):
            name = str(entity.get("name", ""))
        elif isinstance(entity, str):
            name = entity
        else:
            raise InputError(f"an entity must be an EntityMention, (name, type), mapping or str, not {entity!r}")
        words = [word for word in (normalise_word(token) for token in name.split()) if len(word) > 1 and word not in STOPWORDS]
        phrase = sys.intern(" ".join(words))  # shared by every article naming it
        if not phrase:
            continue
        keys.append(phrase)
        if phrase not in display:
            display[phrase] = surface_entry(phrase, name.strip())
        if len(words) > 1:
            keys.extend(words)
    return keys


class StoryClusterer:
    """Single-pass story clustering over a stream of articles; see the module docstring for the rules."""

    def __init__(self, options: StoryOptions | None = None) -> None:
        self.options = options or StoryOptions()
        self.frequencies = DocumentFrequencies(self.options.max_vocabulary)
        self.clock: float | None = None  # latest publication time seen
        self.sequence = 0  # articles added so far
        self._stories: dict[str, _Story] = {}
        self._postings: dict[str, dict[str, float] | tuple[str, float]] = {}
        self._article_story: dict[str, str] = {}
        self._archived: list[StoryRecord] = []
        self._display: dict[str, str] = {}  # entity key -> a surface form, for reasons ("" for key.title())
        self._expiry_heap: list[tuple[float, str]] = []
        self._sequence_heap: list[tuple[int, str]] = []
        self._merged_into: dict[str, str] = {}  # absorbed story id -> the story that absorbed it (bounded)
        self._repeated_lines = RepeatedLines(self.options.boilerplate_stories, self.options.max_boilerplate_lines)
        self._line_keys: list[int] = []  # lines of the article being added, counted once its story is known

    # ------------------------------------------------------------------ public API

    @property
    def active_story_count(self) -> int:
        return len(self._stories)

    def add(
        self,
        article_id: str,
        title: str | None,
        text: str | None,
        published_at: datetime | None = None,
        entities: Iterable[EntityMention | tuple[str, str] | Mapping[str, Any] | str] | None = None,
    ) -> StoryAssignment:
        """Assign one article to a story. Adding an article id again returns its current story."""
        prepared = self._prepare(article_id, title, text, published_at, entities)
        if isinstance(prepared, StoryAssignment):
            return prepared
        member = prepared
        vector, entity_vector, published = member.vector, member.entities, member.published
        scored = self._score_candidates(vector, entity_vector, published)
        scored = self._without_overshadowed(scored, published)
        chosen = self._choose(scored, vector, entity_vector, published)
        if chosen is None:
            story = self._open_story(article_id)
            self._join(story, member)
            self._record_lines(story.id)
            return StoryAssignment(story.id, is_new=True)
        story = self._stories[chosen]
        self._join(story, member)
        runners_up = [sid for sid, score in scored if sid != chosen and score >= self.options.ambiguous_similarity]
        merged = self._merge_neighbours(story, runners_up)
        survivor = self._article_story[article_id]
        self._record_lines(survivor)
        return StoryAssignment(survivor, is_new=False, merged_from=tuple(merged))

    def open_story(
        self,
        article_id: str,
        title: str | None,
        text: str | None,
        published_at: datetime | None = None,
        entities: Iterable[EntityMention | tuple[str, str] | Mapping[str, Any] | str] | None = None,
    ) -> StoryAssignment:
        """Open a new story with this article without looking for an existing one: for bulk-loading stories
        known from elsewhere (an import, a benchmark's known set). Later articles join it as usual."""
        prepared = self._prepare(article_id, title, text, published_at, entities)
        if isinstance(prepared, StoryAssignment):
            return prepared
        story = self._open_story(article_id)
        self._join(story, prepared)
        self._record_lines(story.id)
        return StoryAssignment(story.id, is_new=True)

    def _prepare(
        self,
        article_id: str,
        title: str | None,
        text: str | None,
        published_at: datetime | None,
        entities: Iterable[EntityMention | tuple[str, str] | Mapping[str, Any] | str] | None,
    ) -> _Member | StoryAssignment:
        """Check the input and build the article's member record (vectors, time), moving the clock and archiving
        idle stories; for an article already assigned, its assignment instead."""
        if not isinstance(article_id, str) or not article_id:
            raise InputError("article_id must be a non-empty string")
        title = self._checked_text("title", title)
        text = self._checked_text("text", text)
        published = _timestamp(published_at)
        known = self._article_story.get(article_id)
        if known is not None:
            return StoryAssignment(known, is_new=False)
        self.sequence += 1
        if self.sequence % self.options.housekeeping_articles == 0:
            self._housekeep()
        vector, entity_vector = self._vectors(title, text, entities)
        if published is not None and (self.clock is None or published > self.clock):
            self.clock = published
        self._archive_idle()
        return _Member(article_id, title, vector, entity_vector, published, self.sequence)

    def resolve(self, story_id: str) -> str:
        """The id a story goes by now: itself, or the story it was merged into (following merge chains)."""
        for _ in range(64):  # chains are short; the bound guards against a corrupted state with a cycle
            survivor = self._merged_into.get(story_id)
            if survivor is None:
                return story_id
            story_id = survivor
        return story_id

    def story(self, story_id: str) -> StoryRecord:
        """The record of a live story (or of the story it was merged into), or of an archived one not yet
        handed out by ``pop_archived``."""
        story_id = self.resolve(story_id)
        live = self._stories.get(story_id)
        if live is not None:
            return self._record(live, archived=False)
        for record in self._archived:
            if record.id == story_id:
                return record
        raise NotFoundError(f"no live story {story_id!r}")

    def stories(self) -> list[StoryRecord]:
        """Records of all live stories, largest first."""
        records = [self._record(story, archived=False) for story in self._stories.values()]
        records.sort(key=lambda record: (-record.article_count, record.id))
        return records

    def story_of(self, article_id: str) -> str:
        """The live story an article belongs to."""
        try:
            return self._article_story[article_id]
        except KeyError:
            raise NotFoundError(f"article {article_id!r} is not in a live story") from None

    def pop_archived(self) -> list[StoryRecord]:
        """Stories archived since the last call, for the caller to persist; the clusterer forgets them."""
        archived, self._archived = self._archived, []
        return archived

    def archive_all(self) -> None:
        """Archive every live story (end of a batch run)."""
        for story_id in list(self._stories):
            self._archive(story_id)

    def related_articles(self, article_id: str, k: int = 5) -> list[RelatedArticle]:
        """Up to ``k`` related articles: same-story articles first (closest first), then articles of the
        most similar other stories, each with a reason."""
        if k <= 0:
            return []
        story = self._stories[self.story_of(article_id)]
        query = next((member for member in story.members if member.article_id == article_id), None)
        related: list[RelatedArticle] = []
        if query is None:  # an old member whose vector is no longer kept: same story only
            for other_id in story.article_ids:
                if other_id != article_id and len(related) < k:
                    related.append(RelatedArticle(other_id, story.id, 1.0, "same story"))
            return related
        same = sorted(
            (
                (self._pair_similarity(query, member), member.article_id)
                for member in story.members
                if member.article_id != article_id
            ),
            key=lambda item: (-item[0], item[1]),
        )
        related.extend(RelatedArticle(other, story.id, round(score, 4), "same story") for score, other in same[:k])
        kept = {member.article_id for member in story.members}
        for other_id in story.article_ids:  # members whose vectors were dropped still belong to the story
            if len(related) >= k:
                return related
            if other_id not in kept:
                related.append(RelatedArticle(other_id, story.id, 0.0, "same story"))
        if len(related) >= k:
            return related
        others: list[tuple[float, _Member, str]] = []
        for candidate_id, _ in self._retrieve(_as_dict(query.vector), limit=self.options.candidates):
            if candidate_id == story.id:
                continue
            for member in self._stories[candidate_id].members:
                others.append((self._pair_similarity(query, member), member, candidate_id))
        others.sort(key=lambda item: (-item[0], item[1].article_id))
        for score, member, candidate_id in others[: k - len(related)]:
            related.append(RelatedArticle(member.article_id, candidate_id, round(score, 4), self._reason(query, member)))
        return related

    # ------------------------------------------------------------------ features

    @staticmethod
    def _checked_text(name: str, value: str | None) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InputError(f"{name} must be a string, not {type(value).__name__}")
        return value

    def _vectors(
        self, title: str, text: str, entities: Iterable[Any] | None
    ) -> tuple[dict[str, float], dict[str, float]]:
        options = self.options
        title = strip_dateline(title)  # "WASHINGTON (Reuters) -" says where and who, not what
        body = text[: options.max_body_chars]
        if title and body.startswith(title):  # many extractors repeat the headline as the first line
            body = body[len(title) :]
        if options.boilerplate_stories > 0:
            title, body = self._without_boilerplate(title, body)
        term_counts = word_counts(body)
        for word in words_of(title):
            term_counts[word] += options.title_weight
        if len(self._display) > 500_000:  # display names are a convenience: bounded, rebuilt as we go
            self._display.clear()
        if entities is not None:
            entity_keys = _entity_keys(entities, self._display)
        else:
            entity_keys = proper_nouns_of(title + ".\n" + body, self._display)
        entity_counts = Counter(entity_keys)
        self.frequencies.add(term_counts)
        # Entities share the document-frequency table under a prefix, so their IDF is their own.
        entity_keys = list(map(_entity_key, entity_counts))
        self.frequencies.add(entity_keys, new_document=False)
        vector = weighted_vector(term_counts, self.frequencies, options.article_terms)
        entity_vector = self._entity_vector(entity_counts, entity_keys)
        return vector, entity_vector

    def _without_boilerplate(self, title: str, body: str) -> tuple[str, str]:
        """``title`` and ``body`` without the lines and title segments already met in other stories (page
        furniture, a site's name after its headlines); keeps this article's lines for ``_record_lines``."""
        repeated = self._repeated_lines
        lines, line_keys = repeated.without_boilerplate(body.splitlines())
        segments = _TITLE_SEPARATOR.split(title)
        segment_keys: list[int] = []
        if len(segments) > 1:  # "Headline - Site Name": the segments, never the whole title, may be furniture
            kept, segment_keys = repeated.without_boilerplate(segments)
            if len(kept) < len(segments):
                title = " - ".join(kept)
        self._line_keys = line_keys + segment_keys
        return title, "\n".join(lines)

    def _record_lines(self, story_id: str) -> None:
        if self._line_keys:
            self._repeated_lines.record(self._line_keys, story_id)
            self._line_keys = []

    def _entity_vector(self, entity_counts: Mapping[str, int], keys: list[str]) -> dict[str, float]:
        weights = tf_idf(entity_counts, self.frequencies, keys=keys)
        if len(weights) > self.options.article_terms:
            weights = _heaviest(weights, self.options.article_terms)
        return unit(weights)

    # ------------------------------------------------------------------ scoring

    def _time_factor(self, published: float | None, first: float | None, last: float | None) -> float:
        if published is None or first is None or last is None:
            return 1.0
        near = 1.0 + self.options.near_time_bonus
        if published < first:
            gap = first - published
        elif published > last:
            gap = published - last
        else:
            return near
        extra_days = gap / _DAY - self.options.grace_days
        if extra_days <= 0:
            return near
        return near * math.exp(-extra_days / self.options.decay_days)

    def _combine(self, text_similarity: float, entity_similarity: float | None) -> float:
        if entity_similarity is None:
            return text_similarity
        weight = self.options.entity_weight
        return (1.0 - weight) * text_similarity + weight * entity_similarity

    def _story_similarity(
        self, story: _Story, vector: dict[str, float], entities: dict[str, float], published: float | None
    ) -> float:
        entity_similarity = cosine(entities, story.entity_centroid) if entities and story.entity_centroid else None
        score = self._combine(cosine(vector, story.centroid), entity_similarity)
        return score * self._time_factor(published, story.first_seen, story.last_seen)

    def _pair_similarity(self, left: _Member, right: _Member) -> float:
        entity_similarity = _similarity(left.entities, right.entities) if left.entities and right.entities else None
        return self._combine(_similarity(left.vector, right.vector), entity_similarity)

    def _retrieve(
        self, vector: Mapping[str, float], limit: int, entities: Mapping[str, float] | None = None
    ) -> list[tuple[str, float]]:
        """Live stories sharing the article's rarest heavy terms or entities, by partial dot product (best first).

        The work is bounded whatever the number of stories: at most ``postings_budget`` postings are read, and
        a term shared by more than ``posting_cap`` stories contributes only its most recently updated stories
        (posting dicts keep insertion order, and a story is re-inserted whenever its centroid is refreshed). A key
        of a single story has a ``(story_id, weight)`` pair for posting instead of a dict: most keys are such.
        """
        options = self.options
        postings = self._postings
        frequencies = self.frequencies.counts
        weights: dict[str, float] = {term: vector[term] for term in top_terms(vector, options.query_terms)}
        if options.query_frequent_terms:
            for term in self._frequent_terms(vector, options.query_frequent_terms):
                weights.setdefault(term, vector[term])
        if entities:
            for key in top_terms(entities, options.query_entities):
                weights[_entity_key(key)] = entities[key]
        query = sorted(weights, key=lambda term: frequencies.get(term, 0))
        partial: dict[str, float] = {}
        budget, cap = options.postings_budget, options.posting_cap
        for term in query:
            posting = postings.get(term)
            if posting is None:
                continue
            weight = weights[term]
            if type(posting) is tuple:  # a key of one story
                story_id, story_weight = posting
                if story_id in partial:
                    partial[story_id] += weight * story_weight
                else:
                    partial[story_id] = weight * story_weight
                budget -= 1
                if budget <= 0:
                    break
                continue
            if len(posting) > cap:
                if len(partial) >= limit:
                    continue  # too common to discriminate, and rarer terms already found candidates
                items: Iterable[tuple[str, float]] = islice(reversed(posting.items()), cap)
                budget -= cap
            else:
                items = posting.items()
                budget -= len(posting)
            for story_id, story_weight in items:  # the hot loop: "in" then "+=" beats dict.get
                if story_id in partial:
                    partial[story_id] += weight * story_weight
                else:
                    partial[story_id] = weight * story_weight
            if budget <= 0:
                break
        # A stable sort in C (ties keep first-found order) beats heapq.nlargest's Python loop at these sizes.
        return sorted(partial.items(), key=itemgetter(1), reverse=True)[:limit]

    def _frequent_terms(self, vector: Mapping[str, float], count: int) -> list[str]:
        """The article's ``count`` most repeated terms (title words count ``title_weight`` times): its weights
        without the IDF. The heaviest TF-IDF terms are the rarest, often a name new to the stream; the repeated
        ones ("Panama", "papers") say what the article is about, and an ongoing story is indexed by them."""
        idf = self.frequencies.idf
        return sorted(vector, key=lambda term: vector[term] / idf(term), reverse=True)[:count]

    def _without_overshadowed(
        self, scored: list[tuple[str, float]], published: float | None
    ) -> list[tuple[str, float]]:
        """The candidates whose content score (before the time factor) is at least ``overshadow_ratio`` of the best
        one's. An article much closer to an older story than to a recent one follows up the old story (or is an
        event of its own): it does not belong to the recent look-alike that the time factor alone would favour."""
        ratio = self.options.overshadow_ratio
        if not ratio or published is None or len(scored) < 2:
            return scored
        stories = self._stories
        factors = [self._time_factor(published, stories[sid].first_seen, stories[sid].last_seen) for sid, _ in scored]
        untimed = [score / max(factor, 1e-12) for (_, score), factor in zip(scored, factors)]
        floor = ratio * max(untimed)
        return [(story_id, score) for (story_id, score), content in zip(scored, untimed) if content >= floor]

    def _score_candidates(
        self, vector: dict[str, float], entities: dict[str, float], published: float | None
    ) -> list[tuple[str, float]]:
        stories = self._stories
        scored = [
            (story_id, self._story_similarity(stories[story_id], vector, entities, published))
            for story_id, _ in self._retrieve(vector, self.options.candidates, entities)
        ]
        scored.sort(key=lambda item: (-item[1], stories[item[0]].sequence))
        return scored

    def _choose(
        self,
        scored: Sequence[tuple[str, float]],
        vector: dict[str, float],
        entities: dict[str, float],
        published: float | None,
    ) -> str | None:
        options = self.options
        if not scored or scored[0][1] < options.ambiguous_similarity:
            return None
        if scored[0][1] >= options.join_similarity:
            return scored[0][0]
        # Ambiguous: trust the story only if the article is close to one of its own articles.
        probe = _Member("", "", vector, entities, published, 0)
        best_id, best_score = None, options.member_similarity
        for story_id, score in scored[:3]:  # the nearest few stories are enough, and keep the cost flat
            if score < options.ambiguous_similarity:
                break
            story = self._stories[story_id]
            for member in story.members[-options.members_checked :]:
                member_score = self._pair_similarity(probe, member) * self._time_factor(
                    published, member.published, member.published
                )
                if member_score >= best_score:
                    best_id, best_score = story_id, member_score
        return best_id

    # ------------------------------------------------------------------ story upkeep

    def _open_story(self, article_id: str) -> _Story:
        story_id = story_id_for(article_id)
        while story_id in self._stories:  # only when an article id is re-added after its story was archived
            story_id = story_id_for(story_id)
        story = _Story(id=story_id, sequence=self.sequence)
        self._stories[story_id] = story
        return story

    def _join(self, story: _Story, member: _Member) -> None:
        options = self.options
        first = not story.article_ids
        if first:  # the first article's vectors are the story's sums and centroids: one object each
            story.text_sum = story.centroid = member.vector
            story.entity_sum = story.entity_centroid = member.entities
        else:
            text_sum, entity_sum = self._sums_to_update(story)
            _add_into(text_sum, member.vector)
            _add_into(entity_sum, member.entities)
            member.vector, member.entities = _packed(member.vector), _packed(member.entities)
        story.members.append(member)
        if len(story.members) > options.members_kept:
            story.members.pop(0)
        story.article_ids.append(member.article_id)
        self._article_story[member.article_id] = story.id
        story.last_sequence = member.sequence
        if member.published is not None:
            story.first_seen = member.published if story.first_seen is None else min(story.first_seen, member.published)
            story.last_seen = member.published if story.last_seen is None else max(story.last_seen, member.published)
            story.volume_per_hour[_hour_key(member.published)] += 1
        earliest_key = (member.published if member.published is not None else math.inf, member.sequence, member.title)
        if story.earliest is None or earliest_key < story.earliest:
            story.earliest = earliest_key
        size = len(story.article_ids)
        if first:  # a new story's centroids are its article's unit vectors (set above)
            self._index(story)
        elif size <= 16 or size % (size // 8) == 0:
            # A big story's centroid barely moves with one more article: refresh it about every size/8 joins,
            # which keeps the upkeep per article flat while small stories stay exact.
            self._refresh_centroid(story, text_sum, entity_sum)
        else:  # a big story, refreshed now and then: its sums (few stories have them) stay dicts between joins
            story.text_sum, story.entity_sum = text_sum, entity_sum
        heapq.heappush(self._sequence_heap, (story.last_sequence, story.id))
        if story.last_seen is not None:
            heapq.heappush(self._expiry_heap, (story.last_seen, story.id))

    @staticmethod
    def _sums_to_update(story: _Story) -> tuple[dict[str, float], dict[str, float]]:
        """The story's sums as dicts to add into, to be stored back by the caller; a one-article story's member
        vectors, which were its sums and centroids, are packed now and its sums copied (the centroids stay)."""
        if len(story.article_ids) == 1:
            if story.members:
                member = story.members[0]
                member.vector, member.entities = _packed(member.vector), _packed(member.entities)
            return dict(story.text_sum), dict(story.entity_sum)
        return _as_dict(story.text_sum), _as_dict(story.entity_sum)

    def _refresh_centroid(self, story: _Story, text_sum: dict[str, float], entity_sum: dict[str, float]) -> None:
        """New centroids from the story's (updated) sums, which are stored back packed; then re-index."""
        options = self.options
        keep = options.centroid_terms
        if len(text_sum) > 3 * keep:  # bound memory of big stories: the tail never reaches the centroid
            text_sum = _heaviest(text_sum, 2 * keep)
        if len(entity_sum) > 3 * keep:
            entity_sum = _heaviest(entity_sum, 2 * keep)
        self._unindex(story)
        centroid = text_sum
        if len(centroid) > keep:
            centroid = _heaviest(centroid, keep)
        story.centroid = unit(centroid)
        entity_centroid = entity_sum
        if len(entity_centroid) > keep:
            entity_centroid = _heaviest(entity_centroid, keep)
        story.entity_centroid = unit(entity_centroid)
        if len(story.article_ids) <= _PACKED_SUMS_UP_TO:  # most stories: small, and each join refreshes them
            text_sum, entity_sum = _Packed.of(text_sum), _Packed.of(entity_sum)
        story.text_sum, story.entity_sum = text_sum, entity_sum
        self._index(story)

    def _indexed_keys(self, story: _Story) -> tuple[list[str], list[float]]:
        """The index keys of a story and their weights: the top terms of its centroid and, under a prefix, the top
        entities of its entity centroid."""
        options = self.options
        centroid, entity_centroid = story.centroid, story.entity_centroid
        terms = top_terms(centroid, options.index_terms)
        weights = [centroid[term] for term in terms]
        entity_keys = top_terms(entity_centroid, options.index_entities)
        weights += [entity_centroid[key] for key in entity_keys]
        terms += [_entity_key(key) for key in entity_keys]
        return terms, weights

    def _index(self, story: _Story) -> None:
        """Add the story to the postings of its index keys, at the end: most recently updated last."""
        postings, story_id = self._postings, story.id
        terms, weights = self._indexed_keys(story)
        story.indexed_terms = tuple(terms)
        for term, weight in zip(terms, weights):
            posting = postings.get(term)
            if posting is None:  # most keys name one story: a pair until a second story comes
                postings[term] = (story_id, weight)
            elif type(posting) is tuple:
                postings[term] = {posting[0]: posting[1], story_id: weight}
            else:
                posting[story_id] = weight

    def _unindex(self, story: _Story) -> None:
        postings, story_id = self._postings, story.id
        for term in story.indexed_terms:
            posting = postings.get(term)
            if posting is None:
                continue
            if type(posting) is tuple:
                if posting[0] == story_id:
                    del postings[term]
            else:
                posting.pop(story_id, None)
                if not posting:
                    del postings[term]
        story.indexed_terms = ()

    def _merge_neighbours(self, story: _Story, neighbour_ids: Iterable[str]) -> list[str]:
        """Merge stories that the new article showed to be the same as ``story``; returns absorbed ids."""
        merged: list[str] = []
        survivor = story
        for neighbour_id in neighbour_ids:
            neighbour = self._stories.get(neighbour_id)
            if neighbour is None or neighbour is survivor:
                continue
            entity_similarity = (
                cosine(survivor.entity_centroid, neighbour.entity_centroid)
                if survivor.entity_centroid and neighbour.entity_centroid
                else None
            )
            score = self._combine(cosine(survivor.centroid, neighbour.centroid), entity_similarity)
            if neighbour.first_seen is not None and neighbour.last_seen is not None:
                score *= max(
                    self._time_factor(neighbour.first_seen, survivor.first_seen, survivor.last_seen),
                    self._time_factor(neighbour.last_seen, survivor.first_seen, survivor.last_seen),
                )
            if score < self.options.merge_similarity:
                continue
            older, newer = (survivor, neighbour) if survivor.sequence <= neighbour.sequence else (neighbour, survivor)
            self._absorb(older, newer)
            self._remember_merge(newer.id, older.id)
            merged.append(newer.id)
            survivor = older
        return merged

    def _remember_merge(self, absorbed_id: str, survivor_id: str) -> None:
        merged_into = self._merged_into
        merged_into[absorbed_id] = survivor_id
        if len(merged_into) > self.options.max_redirects:  # the store keeps them all; memory keeps the newest
            for old in list(merged_into)[: len(merged_into) // 2]:
                del merged_into[old]

    def _absorb(self, keeper: _Story, absorbed: _Story) -> None:
        self._unindex(absorbed)
        del self._stories[absorbed.id]
        text_sum, entity_sum = self._sums_to_update(keeper)
        self._sums_to_update(absorbed)  # packs a one-article story's member vectors
        for term, weight in _items(absorbed.text_sum):
            text_sum[term] = text_sum.get(term, 0.0) + weight
        for key, weight in _items(absorbed.entity_sum):
            entity_sum[key] = entity_sum.get(key, 0.0) + weight
        keeper.members = sorted(keeper.members + absorbed.members, key=lambda member: member.sequence)[
            -self.options.members_kept :
        ]
        keeper.article_ids.extend(absorbed.article_ids)
        for article_id in absorbed.article_ids:
            self._article_story[article_id] = keeper.id
        for time in (absorbed.first_seen, absorbed.last_seen):
            if time is not None:
                keeper.first_seen = time if keeper.first_seen is None else min(keeper.first_seen, time)
                keeper.last_seen = time if keeper.last_seen is None else max(keeper.last_seen, time)
        keeper.volume_per_hour.update(absorbed.volume_per_hour)
        keeper.last_sequence = max(keeper.last_sequence, absorbed.last_sequence)
        if absorbed.earliest is not None and (keeper.earliest is None or absorbed.earliest < keeper.earliest):
            keeper.earliest = absorbed.earliest
        self._refresh_centroid(keeper, text_sum, entity_sum)
        heapq.heappush(self._sequence_heap, (keeper.last_sequence, keeper.id))
        if keeper.last_seen is not None:
            heapq.heappush(self._expiry_heap, (keeper.last_seen, keeper.id))

    def _archive_idle(self) -> None:
        """Archive stories idle past the window (by time, by article count) or over the live-story cap."""
        options = self.options
        stories = self._stories
        if self.clock is not None:
            cutoff = self.clock - options.window_days * _DAY
            heap = self._expiry_heap
            while heap and heap[0][0] < cutoff:
                last_seen, story_id = heapq.heappop(heap)
                story = stories.get(story_id)
                if story is not None and story.last_seen == last_seen:
                    self._archive(story_id)
        heap_by_sequence = self._sequence_heap
        oldest_allowed = self.sequence - options.idle_articles
        while heap_by_sequence and (
            heap_by_sequence[0][0] < oldest_allowed or len(stories) >= options.max_active_stories
        ):
            last_sequence, story_id = heapq.heappop(heap_by_sequence)
            story = stories.get(story_id)
            if story is not None and story.last_sequence == last_sequence:
                self._archive(story_id)
        # Drop stale entries now and then: those of archived stories and those a later join superseded. Keeping
        # the superseded ones would leave the heap over the bound, and this O(heap) pass would run on every add.
        for heap, current in ((self._expiry_heap, _last_seen_of), (self._sequence_heap, _last_sequence_of)):
            if len(heap) > 2 * len(stories) + 1024:
                live = list({entry for entry in heap if entry[1] in stories and current(stories[entry[1]]) == entry[0]})
                heapq.heapify(live)
                heap[:] = live

    def _housekeep(self) -> None:
        """Forget what only older articles used, so that memory follows the live stories, not the stream's
        length: document frequencies of terms and page lines met once before the previous housekeeping, display
        names no live story uses, and the token tables. Display names and token tables change no decision; a
        forgotten term or line counts as new if it comes back."""
        self.frequencies.forget_old_singletons()
        self._repeated_lines.forget_old_singletons()
        forget_token_caches()
        used: set[str] = set()
        for story in self._stories.values():
            used.update(story.entity_centroid)
            for member in story.members:
                entities = member.entities
                used.update(entities.terms if isinstance(entities, _Packed) else entities)
        display = self._display
        self._display = {key: display[key] for key in used if key in display}

    def _archive(self, story_id: str) -> None:
        story = self._stories.pop(story_id)
        self._unindex(story)
        for article_id in story.article_ids:
            if self._article_story.get(article_id) == story_id:
                del self._article_story[article_id]
        self._archived.append(self._record(story, archived=True))

    # ------------------------------------------------------------------ records

    def _record(self, story: _Story, archived: bool) -> StoryRecord:
        volume_per_day: Counter[str] = Counter()
        for hour, count in story.volume_per_hour.items():
            volume_per_day[hour[:10]] += count
        return StoryRecord(
            id=story.id,
            title=self._central_title(story),
            first_seen=_datetime(story.first_seen),
            last_seen=_datetime(story.last_seen),
            article_ids=list(story.article_ids),
            article_count=len(story.article_ids),
            top_terms=top_terms(story.centroid, 10),
            top_entities=[surface_of(self._display, key) for key in top_terms(story.entity_centroid, 10)],
            volume_per_day=dict(sorted(volume_per_day.items())),
            volume_per_hour=dict(sorted(story.volume_per_hour.items())),
            archived=archived,
        )

    def _central_title(self, story: _Story) -> str:
        """The headline of the story's lead article: the member closest to the centroid (the earliest article
        for stories of one or two), skipping titles that are only a wire dateline ("WASHINGTON (Reuters) -")."""
        def time_of(member: _Member) -> float:
            return member.published if member.published is not None else math.inf

        if len(story.members) <= 2:
            ranked = sorted(story.members, key=lambda member: (time_of(member), member.sequence))
            headlines = [headline_of(story.earliest[2])] if story.earliest else []
        else:
            ranked = sorted(
                story.members,
                key=lambda member: (
                    -round(_similarity(member.vector, story.centroid), 3),
                    time_of(member),
                    member.sequence,
                ),
            )
            headlines = []
        headlines += [headline_of(member.title) for member in ranked]
        if story.earliest:
            headlines.append(headline_of(story.earliest[2]))
        headline = next((headline for headline in headlines if headline), "")
        if headline:
            return headline
        # Every title was a dateline or empty: name the story by what it is about instead.
        names = [surface_of(self._display, key) for key in top_terms(story.entity_centroid, 3)]
        return ", ".join(names) if names else " ".join(top_terms(story.centroid, 4))

    def _reason(self, query: _Member, other: _Member) -> str:
        query_entities, other_entities = _as_dict(query.entities), _as_dict(other.entities)
        # Whole names ("Tara Reid") before their words, then by weight in both articles.
        shared = sorted(
            (key for key in query_entities if key in other_entities),
            key=lambda key: (" " not in key, -(query_entities[key] * other_entities[key])),
        )
        names: list[str] = []
        for key in shared:
            name = surface_of(self._display, key)
            if not any(key in existing.lower() for existing in names):
                names.append(name)
            if len(names) == 3:
                break
        if not names:
            query_vector, other_vector = _as_dict(query.vector), _as_dict(other.vector)
            terms = sorted(
                (term for term in query_vector if term in other_vector),
                key=lambda term: -(query_vector[term] * other_vector[term]),
            )
            names = terms[:3]
        return "shares: " + ", ".join(names) if names else "similar text"

    # ------------------------------------------------------------------ state as plain data

    def to_state(self) -> dict[str, Any]:
        """All state as JSON-ready plain data (live stories with their kept member vectors)."""
        state = self._state_without_stories()
        state["stories"] = [self._story_state(story) for story in self._stories.values()]
        return state

    def state_json(self) -> str:
        """``to_state`` as compact JSON text, encoded one story at a time: the state never exists in full as plain
        data, so a checkpoint's transient memory stays near twice the text's size (the parts and the joined text)."""
        encode = json.JSONEncoder(separators=(",", ":")).encode
        head = encode(self._state_without_stories())
        parts = [head[:-1], ',"stories":[']
        for index, story in enumerate(self._stories.values()):
            if index:
                parts.append(",")
            parts.append(encode(self._story_state(story)))
        parts.append("]}")
        return "".join(parts)

    def _state_without_stories(self) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "options": asdict(self.options),
            "clock": self.clock,
            "sequence": self.sequence,
            "documents": self.frequencies.documents,
            "document_frequencies": self.frequencies.counts,
            "display": self._display,
            "archived": [record.to_dict() for record in self._archived],
            "merged_into": self._merged_into,
            "repeated_lines": {str(key): entry for key, entry in self._repeated_lines.lines.items()},
            "old_entries": [self.frequencies.old_entries, self._repeated_lines.old_entries],
        }

    @staticmethod
    def _story_state(story: _Story) -> dict[str, Any]:
        # A one-article story's sums are its member's vectors: written once, as the member's (null sums).
        first_member = story.members[0] if story.members else None
        shared_text = first_member is not None and story.text_sum is first_member.vector
        shared_entities = first_member is not None and story.entity_sum is first_member.entities
        return {
            "id": story.id,
            "sequence": story.sequence,
            "text_sum": None if shared_text else _encode_vector(story.text_sum),
            "entity_sum": None if shared_entities else _encode_vector(story.entity_sum),
            "members": [
                [
                    member.article_id,
                    member.title,
                    _encode_vector(member.vector),
                    _encode_vector(member.entities),
                    member.published,
                    member.sequence,
                ]
                for member in story.members
            ],
            "article_ids": story.article_ids,
            "first_seen": story.first_seen,
            "last_seen": story.last_seen,
            "last_sequence": story.last_sequence,
            "volume_per_hour": dict(story.volume_per_hour),
            "earliest": (
                [None if math.isinf(story.earliest[0]) else story.earliest[0], *story.earliest[1:]]
                if story.earliest
                else None
            ),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> StoryClusterer:
        """Rebuild a clusterer saved by ``to_state`` or ``state_json`` (this version's or version 1's); the
        index is rebuilt from the centroids."""
        try:
            if state.get("version") not in _READABLE_STATE_VERSIONS:
                raise InputError(f"unsupported story-clusterer state version {state.get('version')!r}")
            clusterer = cls(StoryOptions(**state["options"]))
            clusterer.clock = _optional_float(state["clock"])
            clusterer.sequence = int(state["sequence"])
            clusterer.frequencies.documents = int(state["documents"])
            clusterer.frequencies.counts = {sys.intern(str(k)): int(v) for k, v in state["document_frequencies"].items()}
            clusterer._display = dict(state["display"])
            clusterer._merged_into = {str(k): str(v) for k, v in state.get("merged_into", {}).items()}
            clusterer._repeated_lines.lines = {int(k): int(v) for k, v in state.get("repeated_lines", {}).items()}
            old_terms, old_lines = (int(count) for count in state.get("old_entries", (0, 0)))
            clusterer.frequencies.old_entries = min(old_terms, len(clusterer.frequencies.counts))
            clusterer._repeated_lines.old_entries = min(old_lines, len(clusterer._repeated_lines.lines))
            for data in state["stories"]:
                clusterer._restore_story(data)
            for record in state["archived"]:
                record = dict(record)
                for key in ("first_seen", "last_seen"):
                    if record[key] is not None:
                        record[key] = datetime.fromisoformat(record[key])
                clusterer._archived.append(StoryRecord(**record))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise InputError(f"malformed story-clusterer state: {error}") from error
        return clusterer

    def _restore_story(self, data: Mapping[str, Any]) -> None:
        story = _Story(id=str(data["id"]), sequence=int(data["sequence"]))
        members = [_member_from_state(item) for item in data["members"]]
        text_sum = members[0].vector if data["text_sum"] is None else _decode_vector(data["text_sum"])
        entity_sum = members[0].entities if data["entity_sum"] is None else _decode_vector(data["entity_sum"])
        story.members = members
        story.article_ids = [str(article_id) for article_id in data["article_ids"]]
        story.first_seen = _optional_float(data["first_seen"])
        story.last_seen = _optional_float(data["last_seen"])
        story.last_sequence = int(data["last_sequence"])
        story.volume_per_hour = Counter({str(hour): int(count) for hour, count in data["volume_per_hour"].items()})
        earliest = data["earliest"]
        if earliest:
            time = math.inf if earliest[0] is None else float(earliest[0])
            story.earliest = (time, int(earliest[1]), str(earliest[2]))
        self._stories[story.id] = story
        for article_id in story.article_ids:
            self._article_story[article_id] = story.id
        first = members[0] if members else None
        if len(story.article_ids) == 1 and first is not None and first.vector == text_sum and first.entities == entity_sum:
            # One article: its vectors are the story's sums and centroids, one object each, as when it was added.
            story.text_sum = story.centroid = first.vector
            story.entity_sum = story.entity_centroid = first.entities
            self._index(story)
        else:
            for member in members:
                member.vector, member.entities = _packed(member.vector), _packed(member.entities)
            self._refresh_centroid(story, text_sum, entity_sum)
        heapq.heappush(self._sequence_heap, (story.last_sequence, story.id))
        if story.last_seen is not None:
            heapq.heappush(self._expiry_heap, (story.last_seen, story.id))


def _encode_vector(vector: _Vector) -> list[Any]:
    """``[terms, weights]``, the weights as base64 of little-endian float64: exact, and half the size of decimals."""
    packed = _packed(vector)
    weights = packed.weights
    if sys.byteorder != "little":
        weights = array("d", weights)
        weights.byteswap()
    return [list(packed.terms), base64.b64encode(weights.tobytes()).decode("ascii")]


def _decode_vector(data: Any) -> dict[str, float]:
    """A vector written by ``_encode_vector``, or by version 1 as a ``{term: weight}`` object."""
    intern = sys.intern  # terms read back are shared between the stories that have them, as live ones are
    if isinstance(data, Mapping):
        return {intern(str(term)): float(weight) for term, weight in data.items()}
    terms, encoded = data
    weights = array("d")
    weights.frombytes(base64.b64decode(encoded, validate=True))
    if sys.byteorder != "little":
        weights.byteswap()
    if len(weights) != len(terms):
        raise ValueError(f"a vector has {len(terms)} terms but {len(weights)} weights")
    return dict(zip(map(intern, map(str, terms)), weights))


def _member_from_state(data: Any) -> _Member:
    """A member from ``[article_id, title, vector, entities, published, sequence]`` (version 1: an object)."""
    if isinstance(data, Mapping):
        data = [data[key] for key in ("article_id", "title", "vector", "entities", "published", "sequence")]
    article_id, title, vector, entities, published, sequence = data
    return _Member(
        str(article_id),
        str(title),
        _decode_vector(vector),
        _decode_vector(entities),
        _optional_float(published),
        int(sequence),
    )
