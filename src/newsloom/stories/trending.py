"""Trending stories: the ones whose article rate is rising fastest against their own past.

For each story, the articles of the last ``recent_hours`` are compared with what its own earlier rate (over the
``baseline_days`` before that) would predict. The ratio is smoothed with ``prior`` pseudo-articles on both
sides, so a single new article does not top the list and a steady large story does not either:

    score = (recent + prior) / (expected + prior),   expected = earlier * recent_hours / (baseline_days * 24)

A brand-new story with many articles has ``expected == 0`` and scores high; a big story running at its usual
pace scores about 1. Stories with no recent article are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from newsloom.stories.clusterer import StoryRecord

__all__ = ["TrendingStory", "trending"]


@dataclass(slots=True, frozen=True)
class TrendingStory:
    story_id: str
    title: str
    score: float
    recent_count: int
    expected_count: float


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def trending(
    stories: Iterable[StoryRecord],
    now: datetime,
    recent_hours: float = 24.0,
    baseline_days: float = 7.0,
    prior: float = 2.0,
    limit: int | None = None,
) -> list[TrendingStory]:
    """Stories ranked by smoothed growth of their hourly volume (highest first; ties by recent volume)."""
    if recent_hours <= 0 or baseline_days <= 0 or prior <= 0:
        raise ValueError("recent_hours, baseline_days and prior must be positive")
    now = _utc(now)
    recent_start = now - timedelta(hours=recent_hours)
    baseline_start = recent_start - timedelta(days=baseline_days)
    # Hour buckets are compared by their start; the bucket holding ``now`` counts as recent.
    now_key = now.strftime("%Y-%m-%dT%H")
    recent_key = recent_start.strftime("%Y-%m-%dT%H")
    baseline_key = baseline_start.strftime("%Y-%m-%dT%H")
    ranked: list[TrendingStory] = []
    for story in stories:
        recent = earlier = 0
        for hour, count in story.volume_per_hour.items():
            if recent_key < hour <= now_key:
                recent += count
            elif baseline_key < hour <= recent_key:
                earlier += count
        if recent == 0:
            continue
        expected = earlier * recent_hours / (baseline_days * 24.0)
        score = (recent + prior) / (expected + prior)
        ranked.append(TrendingStory(story.id, story.title, round(score, 4), recent, round(expected, 3)))
    ranked.sort(key=lambda item: (-item.score, -item.recent_count, item.story_id))
    return ranked[:limit] if limit is not None else ranked
