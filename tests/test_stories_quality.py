"""Story clustering quality rules: an ongoing story is found by the words an article repeats, not only by its
rarest ones; a follow-up of an old story does not fall into a recent look-alike; older states load with the
new options at their defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsloom.stories import StoryClusterer, StoryOptions

DAY0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

LEAK_ARTICLES = [
    (
        "Panama Papers leak exposes offshore companies",
        ("The Panama Papers leak exposed offshore companies set up by the Panama law firm Mossack Fonseca. "
        "The Panama Papers name politicians who hid wealth in offshore companies."),
    ),
    (
        "Panama Papers: what the offshore leak reveals",
        ("Journalists studied the Panama Papers for a year. The offshore leak shows how the Panama firm "
        "registered companies for clients worldwide."),
    ),
]
# Led by names new to the stream (its rarest, heaviest terms); what it is about, it repeats: Panama Papers.
LEAK_FOLLOW_UP = (
    "Zuma and Kufuor relatives named in Panama Papers",
    ("Relatives of Jacob Zuma and John Kufuor are named in the Panama Papers. Khulubuse Zuma and Agyekum Kufuor "
    "held offshore companies, the Panama Papers show."),
)
FILLER = [
    ("Council approves budget for parks", "The city council approved a budget for parks and libraries."),
    ("Storm closes schools across the region", "Heavy snow closed schools and roads across the region."),
    ("Orchestra opens season with Mahler", "The orchestra opened its season with a Mahler symphony."),
]


def _leak_clusterer(options: StoryOptions) -> tuple[StoryClusterer, str]:
    clusterer = StoryClusterer(options)
    story_id = ""
    for index, (title, text) in enumerate(LEAK_ARTICLES):
        story_id = clusterer.add(f"leak{index}", title, text, DAY0 + timedelta(hours=index)).story_id
    for index, (title, text) in enumerate(FILLER):
        clusterer.add(f"filler{index}", title, text, DAY0 + timedelta(hours=3 + index))
    return clusterer, story_id


def test_story_is_found_by_the_words_an_article_repeats() -> None:
    # A small query (the 3 heaviest terms) holds only the new names; the repeated words find the story.
    narrow = {"query_terms": 3, "query_entities": 1}
    clusterer, leak_story = _leak_clusterer(StoryOptions(**narrow, query_frequent_terms=3))
    assignment = clusterer.add("follow", *LEAK_FOLLOW_UP, DAY0 + timedelta(days=1))
    assert assignment.story_id == leak_story and not assignment.is_new
    # Without them the story is not even a candidate: the follow-up opens a story of its own.
    clusterer, leak_story = _leak_clusterer(StoryOptions(**narrow, query_frequent_terms=0))
    assert clusterer.add("follow", *LEAK_FOLLOW_UP, DAY0 + timedelta(days=1)).is_new


OLD_SHOOTING = (
    "Five killed in Wilkinsburg backyard cookout shooting",
    ("Gunmen opened fire on a backyard cookout in Wilkinsburg, killing five people and wounding three. "
    "Allegheny County police said the shooters fired from an alley behind the house on Franklin Avenue. "
    "Wilkinsburg neighbours described the cookout as a family gathering."),
)
RECENT_LOOK_ALIKE = (
    "Two wounded in Homestead backyard cookout shooting",
    ("Gunmen opened fire on a backyard cookout in Homestead late on Saturday, wounding two people. "
    "Allegheny County police said the shooters fired from a car. "
    "No suspect has been charged in the Homestead cookout shooting."),
)
OLD_SHOOTING_FOLLOW_UP = (
    "Second suspect charged in Wilkinsburg cookout shooting",
    ("Allegheny County police charged a second suspect in the Wilkinsburg backyard cookout shooting that killed "
    "five people. Investigators said the gunmen fired from an alley behind the Franklin Avenue house. "
    "The Wilkinsburg cookout victims were remembered at a vigil."),
)


def _follow_up_of_an_old_story(options: StoryOptions) -> tuple[StoryClusterer, str]:
    clusterer = StoryClusterer(options)
    clusterer.add("old", *OLD_SHOOTING, DAY0)
    for index, (title, text) in enumerate(FILLER):
        clusterer.add(f"filler{index}", title, text, DAY0 + timedelta(days=10 + index))
    clusterer.add("recent", *RECENT_LOOK_ALIKE, DAY0 + timedelta(days=29))
    return clusterer, clusterer.add("follow", *OLD_SHOOTING_FOLLOW_UP, DAY0 + timedelta(days=30)).story_id


def test_follow_up_of_an_old_story_does_not_join_a_recent_look_alike() -> None:
    # The follow-up is far closer to the month-old Wilkinsburg story than to yesterday's Homestead one, which
    # only the time factor favours: it must not be filed under Homestead.
    clusterer, story_id = _follow_up_of_an_old_story(StoryOptions())
    assert story_id != clusterer.story_of("recent")
    # The time factor alone would have put it there (the rule is what keeps them apart).
    clusterer, story_id = _follow_up_of_an_old_story(StoryOptions(overshadow_ratio=0.0))
    assert story_id == clusterer.story_of("recent")


def test_overshadowing_needs_dates() -> None:
    # Undated streams have no time factor: the rule does nothing and same-story articles still join.
    clusterer = StoryClusterer()
    first = clusterer.add("a", *LEAK_ARTICLES[0])
    assert clusterer.add("b", *LEAK_ARTICLES[1]).story_id == first.story_id


def test_state_without_the_new_options_loads_with_their_defaults() -> None:
    clusterer, leak_story = _leak_clusterer(StoryOptions())
    state = clusterer.to_state()
    for name in ("query_frequent_terms", "overshadow_ratio"):
        del state["options"][name]  # as written before these options existed
    restored = StoryClusterer.from_state(state)
    assert restored.options.query_frequent_terms == StoryOptions().query_frequent_terms
    assert restored.options.overshadow_ratio == StoryOptions().overshadow_ratio
    assert restored.add("leak9", *LEAK_ARTICLES[0], DAY0 + timedelta(hours=9)).story_id == leak_story
