"""Story clustering: the JSONL contract on real ECB+ articles, time cooldown, late arrivals, merges, archiving,
trending, related articles, state round-trip and hostile input."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsloom.errors import InputError, InputTooLargeError, NotFoundError
from newsloom.model import EntityMention
from newsloom.stories import (
    StoryClusterer,
    StoryOptions,
    StoryRecord,
    cluster_jsonl,
    trending,
)
from newsloom.stories import jsonl as stories_jsonl
from newsloom.stories import text as story_text
from newsloom.stories.text import headline_of

FIXTURES = Path(__file__).parent / "fixtures" / "stories"
SHARED_NEWS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news"
DAY0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)

QUAKE_TITLE = "Magnitude 7.1 earthquake strikes near Anchorage, Alaska"
QUAKE_TEXT = (
    "A magnitude 7.1 earthquake struck near Anchorage, Alaska, on Friday, buckling roads and knocking out power. "
    "The Alaska Earthquake Center said aftershocks rattled Anchorage and the Kenai Peninsula for hours. "
    "Governor Mike Dunleavy declared a disaster; no deaths were reported in Anchorage."
)
FLOOD_TITLE = "Floods force thousands from homes in Valencia, Spain"
FLOOD_TEXT = (
    "Torrential rain flooded Valencia on Tuesday, forcing thousands of residents from their homes. "
    "Spanish emergency services rescued drivers trapped by the water in Paiporta and Valencia. "
    "Prime Minister Pedro Sanchez promised aid for the flooded towns."
)


def _b_cubed_f1(predicted: dict[str, str], gold: dict[str, str]) -> float:
    joint = Counter((predicted[key], gold[key]) for key in gold)
    predicted_sizes = Counter(predicted[key] for key in gold)
    gold_sizes = Counter(gold.values())
    precision = sum(n * n / predicted_sizes[p] for (p, _), n in joint.items()) / len(gold)
    recall = sum(n * n / gold_sizes[g] for (_, g), n in joint.items()) / len(gold)
    return 2 * precision * recall / (precision + recall)


# ------------------------------------------------------------------------------------------ CLI contract


def test_cluster_jsonl_writes_one_story_per_input_line_in_order(tmp_path: Path) -> None:
    source = FIXTURES / "ecbplus_sample.jsonl"
    gold = json.loads((FIXTURES / "ecbplus_sample_gold.json").read_text())
    out = tmp_path / "stories.jsonl"
    cluster_jsonl(source, out)
    input_ids = [json.loads(line)["id"] for line in source.read_text().splitlines()]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == input_ids
    assert all(set(row) == {"id", "story_id"} and row["story_id"] for row in rows)
    predicted = {row["id"]: row["story_id"] for row in rows}
    topic_of = {doc_id: event.split("_")[0] for doc_id, event in gold.items()}
    for story_id in set(predicted.values()):
        topics = {topic_of[doc_id] for doc_id, sid in predicted.items() if sid == story_id}
        assert len(topics) == 1, "a story mixes unrelated topics"
    # Each topic holds two events of the same kind; the clusterer must tell most of them apart.
    assert _b_cubed_f1(predicted, gold) >= 0.75
    assert not (tmp_path / "stories.jsonl.partial").exists()


def test_cluster_jsonl_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    cluster_jsonl(FIXTURES / "ecbplus_sample.jsonl", first)
    cluster_jsonl(FIXTURES / "ecbplus_sample.jsonl", second)
    assert first.read_text() == second.read_text()


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"title": "no id", "text": "x"}', "missing or empty 'id'"),
        (b'{"id": "x", "title": 5, "text": "x"}', "'title' must be a string"),
        (b'{"id": "x"}', "needs a 'title' or a 'text'"),
        (b'{"id": "x", "title": "t", "published_at": "yesterday-ish"}', "not ISO 8601"),
        (b"\xff\xfe\x00binary\x00", "not UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_cluster_jsonl_bad_line_names_its_line_number(tmp_path: Path, bad_line: bytes, message: str) -> None:
    source = tmp_path / "in.jsonl"
    good = json.dumps({"id": "a", "title": QUAKE_TITLE, "text": QUAKE_TEXT}).encode()
    source.write_bytes(good + b"\n\n" + bad_line + b"\n" + good + b"\n")
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=rf"line 3: .*{message}"):
        cluster_jsonl(source, out)
    assert not out.exists() and not (tmp_path / "out.jsonl.partial").exists()


def test_cluster_jsonl_hostile_but_valid_text_is_clustered(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    records = [
        {"id": 1, "title": "", "text": "\x00\x01\u202e\ufffd" * 1000},
        {"id": "huge", "title": "Huge", "text": "word " * 500_000},
        {"id": "script", "title": "<script>alert(1)</script>", "text": "<b>" * 10_000, "published_at": "2024-01-01T00:00:00Z"},
    ]
    source.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    cluster_jsonl(source, tmp_path / "out.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == ["1", "huge", "script"]


def test_cluster_jsonl_refuses_an_oversized_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stories_jsonl, "MAX_LINE_BYTES", 1_000)
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "title": "t", "text": "x" * 5_000}) + "\n")
    with pytest.raises(InputTooLargeError, match="line 1"):
        cluster_jsonl(source, tmp_path / "out.jsonl")


def test_cluster_jsonl_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        cluster_jsonl(tmp_path / "absent.jsonl", tmp_path / "out.jsonl")


def test_add_rejects_wrong_types() -> None:
    clusterer = StoryClusterer()
    with pytest.raises(InputError):
        clusterer.add("", "title", "text")
    with pytest.raises(InputError):
        clusterer.add("a", b"bytes", "text")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        clusterer.add("a", "title", "text", published_at="2024-01-01")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        clusterer.add("a", "title", "text", entities=[42])  # type: ignore[list-item]
    assert clusterer.active_story_count == 0


# ------------------------------------------------------------------------------------------ time


def test_same_text_a_year_apart_makes_two_stories() -> None:
    clusterer = StoryClusterer()
    first = clusterer.add("q2024", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    next_day = clusterer.add("q2024b", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(days=1))
    a_year_later = clusterer.add("q2025", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(days=365))
    assert first.is_new and not next_day.is_new and next_day.story_id == first.story_id
    assert a_year_later.is_new and a_year_later.story_id != first.story_id


def test_time_decay_applies_even_inside_the_window() -> None:
    # Window long enough to keep the first story live: only the cooldown separates them.
    clusterer = StoryClusterer(StoryOptions(window_days=1_000))
    first = clusterer.add("a", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    later = clusterer.add("b", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(days=365))
    assert later.is_new and later.story_id != first.story_id
    assert clusterer.active_story_count == 2


def test_late_article_joins_the_story_of_its_time() -> None:
    clusterer = StoryClusterer()
    quake = clusterer.add("quake", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(days=10))
    clusterer.add("flood", FLOOD_TITLE, FLOOD_TEXT, DAY0 + timedelta(days=12))
    assert clusterer.clock == (DAY0 + timedelta(days=12)).timestamp()
    late = clusterer.add(
        "quake-late",
        "Anchorage earthquake: roads buckle as magnitude 7.1 quake hits Alaska",
        "Roads buckled across Anchorage, Alaska after the magnitude 7.1 earthquake. Governor Mike Dunleavy said "
        "the Alaska Earthquake Center recorded hundreds of aftershocks near Anchorage.",
        DAY0 + timedelta(days=9),  # published before the stream's clock
    )
    assert late.story_id == quake.story_id and not late.is_new
    record = clusterer.story(quake.story_id)
    assert record.first_seen == DAY0 + timedelta(days=9)
    assert record.last_seen == DAY0 + timedelta(days=10)
    assert record.article_ids == ["quake", "quake-late"]


def test_idle_stories_are_archived_and_memory_stays_bounded() -> None:
    clusterer = StoryClusterer(StoryOptions(window_days=7))
    peak = 0
    for day in range(60):
        clusterer.add(f"a{day}", f"Council vote number {day} in Town{day}ville", f"Town{day}ville council voted on budget item {day}.", DAY0 + timedelta(days=day))
        peak = max(peak, clusterer.active_story_count)
    assert peak <= 9
    archived = clusterer.pop_archived()
    assert all(isinstance(record, StoryRecord) and record.archived for record in archived)
    assert sum(record.article_count for record in archived) >= 50
    assert clusterer.pop_archived() == []
    with pytest.raises(NotFoundError):
        clusterer.story_of("a0")


def test_window_bounds_the_live_set_and_the_index_on_a_long_stream() -> None:
    """Over a year of daily stories, only those inside the window stay live and indexed; the rest are archived
    once, with their articles, and a cooled-down story does not take new articles."""
    clusterer = StoryClusterer(StoryOptions(window_days=10))
    for day in range(365):
        for slot in range(3):
            name = f"Place{day}x{slot}"
            clusterer.add(
                f"d{day}-{slot}",
                f"{name} harbour reopens after storm{day}",
                f"The harbour of {name} reopened on day {day} after storm{day}x{slot} damage was repaired.",
                DAY0 + timedelta(days=day, hours=slot),
            )
        assert clusterer.active_story_count <= 3 * 12
    indexed_stories = {  # a key of one story has a (story_id, weight) pair for posting
        story_id
        for posting in clusterer._postings.values()
        for story_id in ([posting[0]] if isinstance(posting, tuple) else posting)
    }
    assert indexed_stories <= set(clusterer._stories)  # archived stories leave the index
    archived = clusterer.pop_archived()
    live_articles = sum(record.article_count for record in clusterer.stories())
    assert sum(record.article_count for record in archived) + live_articles == 365 * 3  # every article, once
    assert len({record.id for record in archived}) == len(archived) and all(record.archived for record in archived)
    old_title, old_text = "Place0x0 harbour reopens after storm0", "The harbour of Place0x0 reopened after storm0x0."
    late = clusterer.add("again", old_title, old_text, DAY0 + timedelta(days=366))
    assert late.is_new  # the story of day 0 cooled down and was archived: a new story opens


def test_live_stories_over_the_cap_are_archived_oldest_first() -> None:
    clusterer = StoryClusterer(StoryOptions(max_active_stories=20))
    for index in range(50):
        clusterer.add(f"c{index}", f"Firm{index} opens plant{index}", f"Firm{index} opened plant{index} in Town{index}.")
    assert clusterer.active_story_count <= 20
    archived_ids = {article for record in clusterer.pop_archived() for article in record.article_ids}
    assert "c0" in archived_ids and "c49" not in archived_ids


def test_undated_stream_is_bounded_by_article_count() -> None:
    clusterer = StoryClusterer(StoryOptions(idle_articles=5))
    for index in range(30):
        clusterer.add(f"u{index}", f"Item{index} launches product{index}", f"Company{index} unveiled product{index}.")
    assert clusterer.active_story_count <= 6


# ------------------------------------------------------------------------------------------ merge


def test_bridging_article_merges_two_stories_and_reports_it() -> None:
    options = StoryOptions(
        join_similarity=0.3, ambiguous_similarity=0.1, member_similarity=0.3, merge_similarity=0.3, near_time_bonus=0.0
    )
    clusterer = StoryClusterer(options)
    strike = clusterer.add(
        "strike", "Dockworkers strike at Rotterdam port", "Dockworkers at Rotterdam port walked out over pay; cranes idle.", DAY0
    )
    queue = clusterer.add(
        "ships",
        "Container ships queue off Rotterdam",
        "Dozens of container ships anchored offshore waiting for berths, shipping firm Maersk said.",
        DAY0 + timedelta(hours=2),
    )
    assert strike.story_id != queue.story_id
    bridge = clusterer.add(
        "bridge",
        "Rotterdam port strike leaves container ships queueing offshore",
        "The dockworkers strike at Rotterdam port over pay left cranes idle, and dozens of container ships "
        "anchored offshore waiting for berths, Maersk said.",
        DAY0 + timedelta(hours=3),
    )
    assert bridge.story_id == strike.story_id  # the older story survives
    assert bridge.merged_from == (queue.story_id,)
    assert clusterer.story_of("ships") == strike.story_id
    record = clusterer.story(strike.story_id)
    assert sorted(record.article_ids) == ["bridge", "ships", "strike"] and record.article_count == 3
    # The absorbed id is not a dead link: it redirects to the survivor, also after a state round-trip.
    assert clusterer.resolve(queue.story_id) == strike.story_id
    assert clusterer.story(queue.story_id).id == strike.story_id
    reloaded = StoryClusterer.from_state(json.loads(json.dumps(clusterer.to_state())))
    assert reloaded.resolve(queue.story_id) == strike.story_id
    assert reloaded.resolve("never-merged") == "never-merged"


# ------------------------------------------------------------------------------------------ titles


@pytest.mark.parametrize(
    ("title", "headline"),
    [
        ("WASHINGTON (Reuters) -", ""),
        ("NEW YORK -", ""),
        ("WASHINGTON (Reuters) - Senate passes the budget bill", "Senate passes the budget bill"),
        ("SEOUL, South Korea — North Korea launches rocket", "North Korea launches rocket"),
        ("(AFP) - Strikes halt trains across France", "Strikes halt trains across France"),
        ("US-China talks - what next for trade", "US-China talks - what next for trade"),
        ("UK: Brexit vote looms", "UK: Brexit vote looms"),
        ("Budget", ""),
    ],
)
def test_headline_of_drops_wire_datelines(title: str, headline: str) -> None:
    assert headline_of(title) == headline


_TOKENISER_TEXTS = [
    "Earthquakes hit Chile's coast; the earthquake's toll rises. EARTHQUAKE!",
    "İstanbul mayor: Ünal O’Brien’s team won’t re-run the vote-count in 2024 (AP) - _under_score",
    "",
    "a I . 42 x-ray X-Ray x_ray",
]


@pytest.mark.parametrize("text", _TOKENISER_TEXTS)
def test_word_counts_equal_counting_words_of_in_first_seen_order(text: str) -> None:
    counts = story_text.word_counts(text)
    expected = Counter(story_text.words_of(text))
    assert counts == expected
    assert list(counts) == list(expected)  # first occurrence order: ties in top_terms depend on it
    assert "" not in counts


def test_token_caches_stay_bounded_and_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(story_text, "_CONTENT_WORDS", story_text._TokenCache(story_text._content_word, limit=50))
    monkeypatch.setattr(story_text, "_NAME_WORDS", story_text._TokenCache(story_text._name_word, limit=50))
    for index in range(40):
        text = " ".join(f"Word{index}x{n} and Name{index}y{n} met" for n in range(10))
        counts = story_text.word_counts(text)
        assert counts == Counter(story_text.normalise_word(token) for token in text.split() if token != "and")
        assert len(story_text._CONTENT_WORDS.table) <= 50
        assert story_text.proper_nouns_of("He met " + text)[:2] == [f"word{index}x0", f"name{index}y0"]
        assert len(story_text._NAME_WORDS.table) <= 50


def test_tf_idf_is_the_sublinear_formula() -> None:
    frequencies = story_text.DocumentFrequencies()
    frequencies.add(["quake", "chile"])
    frequencies.add(["\x00chile"], new_document=False)
    frequencies.add(["quake"])
    counts = {"quake": 3, "chile": 1.0, "unseen": 2}
    weights = story_text.tf_idf(counts, frequencies)
    assert frequencies.documents == 2
    assert weights == {term: (1 + math.log(count)) * frequencies.idf(term) for term, count in counts.items()}
    entity = story_text.tf_idf({"chile": 2}, frequencies, prefix="\x00")
    assert entity == {"chile": (1 + math.log(2)) * frequencies.idf("\x00chile")}
    assert story_text.weighted_vector({"quake": 0, "chile": 1}, frequencies, 10) == {"chile": 1.0}


def test_capitalised_runs_start_at_word_starts_only() -> None:
    names = story_text.proper_nouns_of("Shares of eBay and iPhone maker Apple rose, Tim Cook said.")
    assert "bay" not in names and "phone" not in names
    assert "tim cook" in names and "apple" in names


def test_story_title_is_a_headline_never_a_dateline() -> None:
    clusterer = StoryClusterer()
    first = clusterer.add("wire", "WASHINGTON (Reuters) -", QUAKE_TEXT, DAY0)
    assert clusterer.story(first.story_id).title != "WASHINGTON (Reuters) -"
    clusterer.add("paper", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(hours=1))
    clusterer.add("site", "ANCHORAGE, Alaska (AP) - " + QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(hours=2))
    record = clusterer.story(first.story_id)
    assert record.article_count == 3
    assert record.title == QUAKE_TITLE


def test_story_of_dateline_titles_only_is_named_by_its_names() -> None:
    clusterer = StoryClusterer()
    assignment = clusterer.add("wire", "WASHINGTON (Reuters) -", QUAKE_TEXT, DAY0)
    title = clusterer.story(assignment.story_id).title
    assert title and "Reuters" not in title and "Anchorage" in title


# ------------------------------------------------------------------------------------------ records, related, state


def test_story_record_fields_and_volume() -> None:
    clusterer = StoryClusterer()
    for hour in (0, 1, 1, 30):
        clusterer.add(f"q{hour}-{clusterer.sequence}", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(hours=hour))
    (record,) = clusterer.stories()
    assert record.title == QUAKE_TITLE
    assert record.article_count == 4
    assert record.volume_per_day == {"2024-03-01": 3, "2024-03-02": 1}
    assert record.volume_per_hour["2024-03-01T10"] == 2
    assert "anchorage" in record.top_terms
    assert "Anchorage" in record.top_entities
    assert json.loads(json.dumps(record.to_dict()))["first_seen"].startswith("2024-03-01T09")


def test_related_articles_same_story_first_then_shared_names() -> None:
    clusterer = StoryClusterer()
    clusterer.add("q1", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    clusterer.add("q2", "Anchorage cleans up after magnitude 7.1 earthquake", QUAKE_TEXT.replace("Friday", "Saturday"), DAY0)
    clusterer.add(
        "budget",
        "Dunleavy signs Alaska budget with bigger dividend",
        "Governor Mike Dunleavy signed the state budget in Juneau, raising the Permanent Fund dividend paid to "
        "residents; lawmakers in Juneau had argued over school funding.",
        DAY0,
    )
    clusterer.add("flood", FLOOD_TITLE, FLOOD_TEXT, DAY0)
    related = clusterer.related_articles("q1", k=3)
    assert related[0].article_id == "q2" and related[0].reason == "same story"
    assert related[1].article_id == "budget" and related[1].story_id != related[0].story_id
    assert related[1].reason.startswith("shares: ") and "Dunleavy" in related[1].reason
    assert all(item.article_id != "q1" for item in related)
    with pytest.raises(NotFoundError):
        clusterer.related_articles("nope")


def test_given_entities_are_used_instead_of_proper_nouns() -> None:
    text = "the match ended late after extra time. fans went home happy."  # no capitalised words at all
    for entity_weight, apart in ((0.0, False), (0.8, True)):
        clusterer = StoryClusterer(StoryOptions(entity_weight=entity_weight))
        first = clusterer.add("m1", "match report", text, DAY0, entities=[("Real Madrid", "ORG"), ("Madrid", "GPE")])
        other = clusterer.add("m2", "match report", text, DAY0, entities=[EntityMention("Ajax", "ORG")])
        assert (first.story_id != other.story_id) is apart  # same words; only the names can tell them apart
    assert "Real Madrid" in clusterer.story(first.story_id).top_entities


def test_state_round_trips_through_json() -> None:
    clusterer = StoryClusterer()
    clusterer.add("q1", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    clusterer.add("f1", FLOOD_TITLE, FLOOD_TEXT, DAY0 + timedelta(hours=1))
    restored = StoryClusterer.from_state(json.loads(json.dumps(clusterer.to_state())))
    for target in (clusterer, restored):
        assignment = target.add("q2", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(hours=5))
        assert assignment.story_id == target.story_of("q1")
    assert [r.to_dict() for r in restored.stories()] == [r.to_dict() for r in clusterer.stories()]
    with pytest.raises(InputError):
        StoryClusterer.from_state({"version": 1, "options": {}})


def test_adding_the_same_article_twice_is_idempotent() -> None:
    clusterer = StoryClusterer()
    first = clusterer.add("q1", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    again = clusterer.add("q1", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    assert again.story_id == first.story_id and not again.is_new
    assert clusterer.story(first.story_id).article_count == 1


# ------------------------------------------------------------------------------------------ trending


def _record(story_id: str, volume_per_hour: dict[str, int]) -> StoryRecord:
    return StoryRecord(story_id, story_id, None, None, [], sum(volume_per_hour.values()), [], [], {}, volume_per_hour)


def test_trending_ranks_rising_stories_above_big_steady_ones() -> None:
    now = datetime(2024, 3, 10, 12, 30, tzinfo=timezone.utc)

    def hour(hours_ago: int) -> str:
        return (now - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H")

    steady = _record("steady", {hour(h): 2 for h in range(0, 8 * 24, 3)})  # big, same pace all week
    surging = _record("surging", {hour(h): 3 for h in range(0, 12)} | {hour(100): 1})
    brand_new_single = _record("single", {hour(1): 1})
    fading = _record("fading", {hour(h): 5 for h in range(30, 100)} | {hour(2): 1})
    cold = _record("cold", {hour(200): 9})
    ranked = trending([steady, surging, brand_new_single, fading, cold], now)
    names = [item.story_id for item in ranked]
    assert names[0] == "surging"
    assert names.index("single") < names.index("steady") < names.index("fading")
    assert "cold" not in names
    assert 0.8 < ranked[names.index("steady")].score < 1.2  # at its own usual pace
    assert trending([steady, surging], now, limit=1)[0].story_id == "surging"


def test_trending_from_a_live_clusterer() -> None:
    clusterer = StoryClusterer()
    for index in range(6):
        clusterer.add(f"f{index}", FLOOD_TITLE, FLOOD_TEXT, DAY0 + timedelta(days=3, minutes=index))
    clusterer.add("q", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(days=3))
    ranked = trending(clusterer.stories(), DAY0 + timedelta(days=3, hours=1))
    assert ranked[0].story_id == clusterer.story_of("f0") and ranked[0].recent_count == 6


# ------------------------------------------------------------------------------------------ quality gate


@pytest.mark.shared_data
def test_ecbplus_quality_floor() -> None:
    path = SHARED_NEWS / "ecbplus" / "ecbplus_docs.jsonl"
    if not path.is_file():
        pytest.skip(f"shared evaluation data not found at {path}")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    clusterer = StoryClusterer()
    predicted, gold = {}, {}
    members: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        doc_id = f"e{index}"  # never the file name: it encodes the label
        assignment = clusterer.add(doc_id, row["title"], row["text"])
        for absorbed in assignment.merged_from:
            for moved in members.pop(absorbed, []):
                predicted[moved] = assignment.story_id
                members.setdefault(assignment.story_id, []).append(moved)
        predicted[doc_id] = assignment.story_id
        members.setdefault(assignment.story_id, []).append(doc_id)
        gold[doc_id] = row["event_cluster"]
    # A regression gate, not the target: measured 0.867 in file order, next to the TF-IDF single-pass anchor's
    # 0.874 (bench/stories.py; the anchor fits its IDF on the whole set beforehand).
    assert _b_cubed_f1(predicted, gold) >= 0.84


# ------------------------------------------------------------------------------------------ store redirects


def test_store_follows_merge_redirects_through_chains(tmp_path: Path) -> None:
    from newsloom.model import Article, article_id_for
    from newsloom.store import SQLiteStore
    from newsloom.store.base import BatchExtras, StoryRow

    def article(n: int, story_id: str) -> Article:
        url, text = f"https://example.org/news/{n}", f"Report {n} on the harbour cranes of Rotterdam."
        return Article(id=article_id_for(url, text), title=f"Report {n}", paragraphs=[text], url=url,
                       canonical_url=url, site="example.org", published_at=DAY0 + timedelta(hours=n),
                       story_id=story_id)

    store = SQLiteStore(tmp_path / "redirects.db")
    try:
        rows = [StoryRow(story_id, story_id.title(), DAY0, DAY0, 1) for story_id in ("s-a", "s-b", "s-c")]
        articles = [article(1, "s-a"), article(2, "s-b"), article(3, "s-c")]
        store.upsert_articles(articles, extras=BatchExtras(stories=rows))
        store.upsert_articles([], extras=BatchExtras(stories=[rows[1]], merged_stories={"s-a": "s-b"}))
        assert store.get_story("s-a").id == "s-b" and store.story_merged_into("s-a") == "s-b"
        # s-b is absorbed in turn: the old link to s-a now leads straight to s-c.
        store.upsert_articles([], extras=BatchExtras(stories=[rows[2]], merged_stories={"s-b": "s-c"}))
        assert store.get_story("s-a").id == "s-c" and store.get_story("s-b").id == "s-c"
        assert {a.id for a in store.story_articles("s-a")} == {a.id for a in articles}
        assert store.story_merged_into("s-c") is None and store.get_story("s-c").id == "s-c"
        with pytest.raises(NotFoundError):
            store.get_story("s-never")
    finally:
        store.close()


def test_open_story_bulk_loads_without_joining_and_later_articles_join() -> None:
    clusterer = StoryClusterer()
    first = clusterer.open_story("q1", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    second = clusterer.open_story("q2", QUAKE_TITLE, QUAKE_TEXT, DAY0)
    assert first.is_new and second.is_new and first.story_id != second.story_id
    assert clusterer.open_story("q1", QUAKE_TITLE, QUAKE_TEXT, DAY0).story_id == first.story_id  # idempotent
    later = clusterer.add("q3", QUAKE_TITLE, QUAKE_TEXT, DAY0 + timedelta(hours=1))
    assert not later.is_new and later.story_id in {first.story_id, second.story_id}


# ------------------------------------------------------------------------------------------ page furniture


def test_lines_repeated_across_stories_stop_joining_unrelated_articles() -> None:
    """A sign-in box and a site name met in several stories are furniture: two unrelated articles that share
    only them stay apart, while a line repeated within one story (a syndicated wire) still counts."""
    furniture = "Sign in using your account with your station profile\nWelcome back. Please sign in to continue"
    site = " - Channel Nine News Springfield"
    topics = [
        ("Magnitude 7.1 earthquake strikes Anchorage", QUAKE_TEXT),
        ("Floods force thousands from homes in Valencia", FLOOD_TEXT),
        ("Parliament passes the national budget after a long night", "Lawmakers approved the budget by 201 votes."),
        ("Wildfire near Canberra forces evacuations", "Firefighters battled a bushfire south of Canberra overnight."),
    ]

    def run(boilerplate_stories: int) -> set[str]:
        clusterer = StoryClusterer(StoryOptions(boilerplate_stories=boilerplate_stories))
        stories = set()
        for index, (title, text) in enumerate(topics):
            when = DAY0 + timedelta(hours=index)
            stories.add(clusterer.add(f"a{index}", title + site, furniture + "\n" + text, when).story_id)
        return stories

    assert len(run(boilerplate_stories=2)) == len(topics)
    lines = story_text.RepeatedLines(stories_for_boilerplate=2)
    wire = ["Torrential rain flooded Valencia on Tuesday, forcing thousands from their homes."]
    _, keys = lines.without_boilerplate(wire)
    lines.record(keys, "s1")
    lines.record(keys, "s1")  # the same story again: still news
    assert lines.without_boilerplate(wire)[0] == wire
    lines.record(keys, "s2")  # a second story: furniture from now on
    assert lines.without_boilerplate(wire)[0] == []


def test_repeated_lines_survive_a_state_round_trip() -> None:
    clusterer = StoryClusterer()
    for index in range(3):
        clusterer.add(f"a{index}", f"Story number {index} about topic {index}", f"Please enable JavaScript to watch this video\nBody {index}.")
    restored = StoryClusterer.from_state(json.loads(json.dumps(clusterer.to_state())))
    assert restored._repeated_lines.lines == clusterer._repeated_lines.lines
