"""Stories: streaming clustering of articles into stories, trending stories, related articles.

    from newsloom.stories import StoryClusterer, trending
    clusterer = StoryClusterer()
    assignment = clusterer.add(article.id, article.title, article.text, article.published_at)
    clusterer.open_story(article.id, article.title, article.text)  # bulk-load a known story (no join decision)
    clusterer.resolve(story_id)                 # follows merges: an absorbed id -> the story it joined
    clusterer.related_articles(article.id, k=5)   # same story first, then similar stories, with reasons
    trending(clusterer.stories(), now)            # fastest-rising stories against their own baseline
    archived = clusterer.pop_archived()           # idle stories, for the store to persist

``cluster_jsonl`` is the batch contract used by ``newsloom stories cluster``.
"""

from newsloom.stories.clusterer import (
    RelatedArticle,
    StoryAssignment,
    StoryClusterer,
    StoryOptions,
    StoryRecord,
    story_id_for,
)
from newsloom.stories.jsonl import cluster_jsonl
from newsloom.stories.trending import TrendingStory, trending

__all__ = [
    "StoryClusterer",
    "StoryOptions",
    "StoryAssignment",
    "StoryRecord",
    "RelatedArticle",
    "TrendingStory",
    "trending",
    "cluster_jsonl",
    "story_id_for",
]
