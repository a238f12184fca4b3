"""Story-clusterer state and memory layout: the compact state round trip, states saved by version 1 (the format
before vectors were packed), the one-object sharing of a one-article story's vectors, and the StoriesStage
checkpoint."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsloom.errors import InputError
from newsloom.stories import StoryClusterer, StoryOptions
from newsloom.stories.clusterer import _Packed, _similarity
from newsloom.stories.text import cosine, top_terms, unit

FIXTURES = Path(__file__).parent / "fixtures" / "stories"
DAY0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)

# (id, title, text, hours after DAY0): two quake reports, a flood, a third quake report and a lone market story.
STREAM = [
    (
        "q1",
        "Magnitude 7.1 earthquake strikes near Anchorage, Alaska",
        ("A magnitude 7.1 earthquake struck near Anchorage, Alaska, on Friday, buckling roads and knocking out power. "
            "The Alaska Earthquake Center said aftershocks rattled Anchorage and the Kenai Peninsula for hours."),
        0,
    ),
    (
        "f1",
        "Floods force thousands from homes in Valencia, Spain",
        ("Torrential rain flooded Valencia on Tuesday, forcing thousands of residents from their homes. "
            "Spanish emergency services rescued drivers trapped by the water in Paiporta and Valencia."),
        1,
    ),
    (
        "q2",
        "Anchorage earthquake: aftershocks rattle Alaska after magnitude 7.1 quake",
        ("Aftershocks kept rattling Anchorage, Alaska, a day after the magnitude 7.1 earthquake buckled roads. "
            "The Alaska Earthquake Center counted hundreds of aftershocks near the Kenai Peninsula."),
        20,
    ),
    (
        "m1",
        "Copper prices climb on Chilean mine strike",
        ("Copper futures rose in London as a strike at the Escondida mine in Chile entered its second week, "
            "traders said, tightening supply expectations."),
        22,
    ),
    (
        "q3",
        "Alaska quake damage estimate rises as Anchorage repairs roads",
        ("Officials in Anchorage raised the damage estimate for the magnitude 7.1 Alaska earthquake as crews "
            "repaired buckled roads; aftershocks near the Kenai Peninsula continued."),
        30,
    ),
]
NEXT = (
    "f2",
    "Valencia floods: rescuers search Paiporta after torrential rain",
    "Rescuers searched Paiporta near Valencia, Spain, after torrential rain flooded homes and trapped drivers.",
    40,
)


def add(clusterer: StoryClusterer, item: tuple[str, str, str, int]) -> str:
    article_id, title, text, hours = item
    return clusterer.add(article_id, title, text, DAY0 + timedelta(hours=hours)).story_id


def streamed(options: StoryOptions | None = None) -> StoryClusterer:
    clusterer = StoryClusterer(options)
    for item in STREAM:
        add(clusterer, item)
    return clusterer


def records(clusterer: StoryClusterer) -> list[dict]:
    return [record.to_dict() for record in clusterer.stories()]


def test_state_json_round_trip_continues_the_stream_exactly() -> None:
    clusterer = streamed()
    text = clusterer.state_json()
    assert json.loads(text) == json.loads(json.dumps(clusterer.to_state()))  # one format, two encoders
    restored = StoryClusterer.from_state(json.loads(text))
    assert records(restored) == records(clusterer)
    assert restored.state_json() == text  # nothing lost or reordered by a save and load
    assert add(restored, NEXT) == add(clusterer, NEXT) == clusterer.story_of("f1")
    assert records(restored) == records(clusterer)
    for article_id in ("q1", "f2"):
        assert restored.related_articles(article_id) == clusterer.related_articles(article_id)


def test_a_one_article_story_is_written_once() -> None:
    clusterer = streamed()
    state = clusterer.to_state()
    by_size = {len(story["article_ids"]): story for story in state["stories"]}
    assert by_size[1]["text_sum"] is None and by_size[1]["entity_sum"] is None  # the member's vectors are the sums
    assert by_size[3]["text_sum"] is not None  # a story of three has sums of its own


def test_a_state_saved_by_version_1_loads_and_continues() -> None:
    """``state_v1.json`` was written by the version-1 clusterer (vectors as objects) after ``STREAM``."""
    saved = json.loads((FIXTURES / "state_v1.json").read_text(encoding="utf-8"))
    assert saved["version"] == 1
    restored = StoryClusterer.from_state(saved)
    fresh = streamed()
    assert records(restored) == records(fresh)
    assert restored.story_of("q3") == restored.story_of("q1") != restored.story_of("f1")
    assert add(restored, NEXT) == add(fresh, NEXT) == fresh.story_of("f1")
    assert records(restored) == records(fresh)
    assert StoryClusterer.from_state(json.loads(restored.state_json())).to_state()["version"] == 2


def test_a_one_article_story_shares_one_dict_until_a_second_article_joins() -> None:
    clusterer = StoryClusterer()
    story_id = add(clusterer, STREAM[0])
    story = clusterer._stories[story_id]
    member = story.members[0]
    assert story.text_sum is story.centroid is member.vector  # one object, three roles
    assert story.entity_sum is story.entity_centroid is member.entities
    first_vector, first_entities = dict(member.vector), dict(member.entities)

    assert add(clusterer, STREAM[2]) == story_id  # q2 joins q1
    second = story.members[1]
    assert story.text_sum is not story.centroid
    # The first member's vector is unchanged by the second join (packed now), and the sums add both members.
    assert isinstance(member.vector, _Packed) and member.vector.as_dict() == first_vector
    assert member.entities.as_dict() == first_entities
    second_vector = second.vector.as_dict()
    expected_sum = dict(first_vector)
    for term, weight in second_vector.items():
        expected_sum[term] = expected_sum.get(term, 0.0) + weight
    assert _sums(story.text_sum) == expected_sum
    keep = clusterer.options.centroid_terms
    expected_centroid = unit({term: expected_sum[term] for term in top_terms(expected_sum, keep)})
    assert story.centroid == expected_centroid
    assert math.isclose(sum(weight * weight for weight in story.centroid.values()), 1.0)
    # The centroid the index knows is the new one: a third quake report still finds and joins the story.
    assert add(clusterer, STREAM[4]) == story_id


def _sums(vector: dict[str, float] | _Packed) -> dict[str, float]:
    return vector.as_dict() if isinstance(vector, _Packed) else vector


def test_a_merge_of_two_one_article_stories_keeps_both_vectors() -> None:
    options = StoryOptions(join_similarity=0.99, ambiguous_similarity=0.99, member_similarity=0.99, merge_similarity=0.0)
    clusterer = StoryClusterer(options)
    first, second = add(clusterer, STREAM[0]), add(clusterer, STREAM[2])
    assert first != second  # nothing joins at 0.99
    vectors = {m.article_id: dict(m.vector) for s in clusterer._stories.values() for m in s.members}
    survivor = clusterer._stories[first]
    clusterer._absorb(survivor, clusterer._stories[second])  # as _merge_neighbours does
    assert [m.article_id for m in survivor.members] == ["q1", "q2"]
    assert {m.article_id: m.vector.as_dict() for m in survivor.members} == vectors
    expected = dict(vectors["q1"])
    for term, weight in vectors["q2"].items():
        expected[term] = expected.get(term, 0.0) + weight
    assert _sums(survivor.text_sum) == expected
    assert clusterer.story_of("q2") == first


def test_packed_similarity_matches_the_dict_cosine() -> None:
    clusterer = streamed()
    vectors = [m.vector for s in clusterer._stories.values() for m in s.members]
    dicts = [v.as_dict() if isinstance(v, _Packed) else v for v in vectors]
    for left, left_dict in zip(vectors, dicts):
        for right, right_dict in zip(vectors, dicts):
            assert math.isclose(_similarity(left, right), cosine(left_dict, right_dict), rel_tol=1e-12, abs_tol=1e-15)
    assert len(_Packed.of({})) == 0 and _Packed.of({}).as_dict() == {}


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda story: story["members"][0].__setitem__(2, [["only", "terms"], ""]),  # weights missing
        lambda story: story["members"][0].__setitem__(2, [["a"], "not base64!"]),
        lambda story: story.__setitem__("members", [["too", "short"]]),
        lambda story: story.__setitem__("text_sum", 7),
    ],
)
def test_a_corrupted_state_is_an_input_error(corrupt) -> None:
    state = json.loads(streamed().state_json())
    story = next(story for story in state["stories"] if len(story["article_ids"]) > 1)
    corrupt(story)
    with pytest.raises(InputError):
        StoryClusterer.from_state(state)


def test_stories_stage_checkpoints_the_compact_state(tmp_path: Path) -> None:
    from newsloom.model import Article
    from newsloom.stages import Batch, StoriesStage
    from newsloom.store import open_store

    store = open_store(tmp_path / "news.db")
    try:
        stage = StoriesStage()
        articles = [
            Article(id=article_id, title=title, paragraphs=[text], published_at=DAY0 + timedelta(hours=hours))
            for article_id, title, text, hours in STREAM
        ]
        batch = Batch(articles)
        stage(batch, store)
        saved = batch.extras.checkpoints[StoriesStage.STATE_KEY]
        state = json.loads(saved)
        assert state["version"] == 2
        restored = StoryClusterer.from_state(state)
        assert restored.story_of("q3") == restored.story_of("q1") == articles[0].story_id
    finally:
        store.close()


def test_superseded_heap_entries_are_dropped_so_upkeep_stays_cheap() -> None:
    # Every join pushes a new expiry entry for its story; the clean-up must drop the superseded ones, or it keeps
    # finding the heap over its bound and rescans it on every add (a slowdown that grows with the stream).
    from datetime import datetime, timedelta, timezone

    from newsloom.stories import StoryClusterer

    clusterer = StoryClusterer()
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    texts = ["Harbour workers strike over pay in Rotterdam port as talks with the port authority fail again.",
             "Central bank raises interest rates by half a point to fight inflation, the governor said on Tuesday."]
    for n in range(2_500):
        clusterer.add(f"a{n}", texts[n % 2].split(" in ")[0], texts[n % 2], start + timedelta(minutes=3 * n))
    assert clusterer.active_story_count == 2
    assert len(clusterer._expiry_heap) <= 2 * 2 + 1024 and len(clusterer._sequence_heap) <= 2 * 2 + 1024


def test_malformed_times_and_options_in_a_saved_state_are_input_errors() -> None:
    from newsloom.errors import InputError
    from newsloom.stories import StoryClusterer

    clusterer = StoryClusterer()
    clusterer.add("a1", "Harbour strike", "Dock workers in Rotterdam walked out over pay on Monday morning.", None)
    state = clusterer.to_state()
    for broken in (
        {**state, "clock": "x"},
        {**state, "stories": [{**state["stories"][0], "first_seen": "x"}]},
        {**state, "options": {**state["options"], "max_boilerplate_lines": 1}},
        {**state, "options": {**state["options"], "boilerplate_stories": 300}},
        {**state, "options": {**state["options"], "housekeeping_articles": 0}},
        {**state, "old_entries": ["x", 0]},
        {**state, "old_entries": [1, 2, 3]},
    ):
        with pytest.raises(InputError):
            StoryClusterer.from_state(broken)


def test_old_one_off_terms_and_lines_are_forgotten_but_recent_and_repeated_ones_stay() -> None:
    from newsloom.stories.text import DocumentFrequencies, RepeatedLines

    frequencies = DocumentFrequencies()
    frequencies.add(["once", "twice"])
    frequencies.add(["twice"])
    frequencies.forget_old_singletons()  # the first call only marks what is old
    frequencies.add(["recent"])
    frequencies.forget_old_singletons()
    assert set(frequencies.counts) == {"twice", "recent"}
    assert frequencies.documents == 3  # IDF still counts every document
    frequencies.forget_old_singletons()
    assert set(frequencies.counts) == {"twice"}

    lines = RepeatedLines(stories_for_boilerplate=2)
    _, furniture = lines.without_boilerplate(["Please enable JavaScript to watch this video"])
    _, news = lines.without_boilerplate(["Rescuers searched Paiporta after the floods"])
    lines.record(furniture, "s1")
    lines.record(furniture, "s2")
    lines.record(news, "s1")
    lines.forget_old_singletons()
    lines.forget_old_singletons()
    assert set(lines.lines) == set(furniture)


def test_housekeeping_keeps_memory_to_the_live_stories() -> None:
    """Every `housekeeping_articles` articles, one-off terms, lines and display names of older articles go;
    a long stream of unrelated one-off stories then holds about two periods' worth, not the whole stream."""
    options = StoryOptions(housekeeping_articles=20, window_days=2)
    clusterer = StoryClusterer(options)
    for index in range(200):
        word, name = f"zork{index}q", f"Quux{index}"
        clusterer.add(f"a{index}", f"{name} opens {word} plant",
                      f"{name} Industries opened a {word} plant on Monday.\nA line only article {index} has.",
                      DAY0 + timedelta(hours=6 * index))
    assert f"zork{10}q" not in clusterer.frequencies.counts and "zork199q" in clusterer.frequencies.counts
    assert len(clusterer.frequencies.counts) < 2 * 20 * 8
    assert len(clusterer._repeated_lines.lines) <= 2 * 20 * 2
    live_keys = {key for story in clusterer._stories.values() for key in story.entity_centroid}
    assert set(clusterer._display) <= live_keys | {key for key in clusterer._display if key.startswith("quux19")}
    assert "quux10" not in clusterer._display
    restored = StoryClusterer.from_state(json.loads(clusterer.state_json()))
    assert restored.frequencies.old_entries == clusterer.frequencies.old_entries
    assert restored._repeated_lines.old_entries == clusterer._repeated_lines.old_entries
