"""Enrichment: language, entities (golden fixture + alias canonicalisation), keyphrases, summary, hostile input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from newsloom.enrich import enrich, entities_available
from newsloom.enrich._text import split_sentences
from newsloom.enrich.entities import AliasTable, SurnameResolver, canonicalize_mentions, clean_mention
from newsloom.enrich.keyphrases import extract_keyphrases
from newsloom.enrich.language import _detect_with_profiles, detect_language
from newsloom.enrich.summary import reading_time_minutes, summarize
from newsloom.errors import MissingExtraError
from newsloom.model import Article, article_id_for

FIXTURE = Path(__file__).parent / "fixtures" / "enrich" / "netanyahu-rafah.txt"
needs_spacy = pytest.mark.skipif(
    not entities_available(), reason="spaCy or its English model is not installed: pip install 'newsloom[nlp]'"
)


def _article(title: str, paragraphs: list[str]) -> Article:
    return Article(id=article_id_for(None, "\n\n".join(paragraphs)), title=title, paragraphs=paragraphs)


@pytest.fixture(scope="module")
def rafah() -> Article:
    title, *paragraphs = [block.strip() for block in FIXTURE.read_text(encoding="utf-8").split("\n\n") if block.strip()]
    assert len(paragraphs) == 9
    return _article(title, paragraphs)


# --- language ------------------------------------------------------------------------------------------------

SAMPLES = {
    "en": "The central bank raised interest rates on Thursday, saying that inflation remained far too high for comfort.",
    "de": "Die Regierung hat am Donnerstag beschlossen, dass die Steuern im nächsten Jahr nicht erhöht werden sollen.",
    "fr": "Le gouvernement a annoncé jeudi que les impôts ne seraient pas augmentés l'année prochaine, selon le ministre.",
    "es": "El gobierno anunció el jueves que los impuestos no subirán el próximo año, según declaró el ministro de economía.",
    "it": "Il governo ha annunciato giovedì che le tasse non saranno aumentate il prossimo anno, secondo il ministro.",
    "ru": "Правительство объявило в четверг, что налоги не будут повышены в следующем году, сообщил министр финансов.",
    "ja": "政府は木曜日、来年は税金を引き上げないと発表した。財務大臣がそのように述べた。",
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_detect_language(language: str) -> None:
    assert detect_language(SAMPLES[language]) == language


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "it", "ru", "ja"])
def test_fallback_profiles_without_py3langid(language: str) -> None:
    assert _detect_with_profiles(SAMPLES[language]) == language


@pytest.mark.parametrize("text", ["", "   ", "ok", "12345 678 90", "\x00\x01\x02" * 50, None])
def test_detect_language_abstains_on_no_evidence(text: object) -> None:
    assert detect_language(text) is None  # type: ignore[arg-type]


# --- entity cleaning and canonical names (no spaCy needed) ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "label", "expected"),
    [
        ("Israel's", "GPE", ("Israel", "GPE")),
        ("Israel’s", "GPE", ("Israel", "GPE")),
        ("the United States", "GPE", ("United States", "GPE")),
        ("President Biden", "PERSON", ("Biden", "PERSON")),
        ("Prime Minister Benjamin Netanyahu", "PERSON", ("Benjamin Netanyahu", "PERSON")),
        ("Mr. Smith", "PERSON", ("Smith", "PERSON")),
        ("Hamas'", "ORG", ("Hamas", "ORG")),
        ("1987", "DATE", None),
        ("three", "CARDINAL", None),
        ("42", "ORG", None),
        ("X", "ORG", None),
        ("Aug/Sept", "ORG", None),
        ("GMT", "ORG", None),
        ("the government", "ORG", None),
    ],
)
def test_clean_mention(raw: str, label: str, expected: tuple[str, str] | None) -> None:
    assert clean_mention(raw, label) == expected


@pytest.mark.parametrize(
    ("alias", "label", "expected"),
    [
        ("U.S.", "GPE", ("United States", "GPE")),
        ("US", "GPE", ("United States", "GPE")),
        ("America", "GPE", ("United States", "GPE")),
        ("the United States", "GPE", ("United States", "GPE")),
        ("U.S.", "ORG", ("United States", "GPE")),  # spaCy often tags "U.S." as ORG
        ("U.N.", "ORG", ("United Nations", "ORG")),
        ("UN", "ORG", ("United Nations", "ORG")),
        ("U.N. Security Council", "ORG", ("United Nations Security Council", "ORG")),
        ("Biden", "PERSON", ("Joe Biden", "PERSON")),
        ("Fed", "ORG", ("Federal Reserve", "ORG")),
    ],
)
def test_alias_table(alias: str, label: str, expected: tuple[str, str]) -> None:
    assert AliasTable.bundled().lookup(alias, label) == expected


def test_alias_table_is_type_aware() -> None:
    table = AliasTable.bundled()
    assert table.lookup("America", "PERSON") is None
    assert table.lookup("Biden", "GPE") is None
    assert table.lookup("Nowhereland", "GPE") is None
    custom = AliasTable([{"name": "Washington", "type": "GPE", "aliases": ["D.C."]}])
    assert custom.lookup("DC", "GPE") == ("Washington", "GPE")
    assert custom.lookup("Washington", "PERSON") is None


def test_surname_resolves_to_full_name_in_same_article() -> None:
    mentions = canonicalize_mentions(
        [("Prime Minister Benjamin Netanyahu", "PERSON"), ("Netanyahu", "PERSON"), ("Netanyahu", "ORG")]
    )
    assert mentions == [("Benjamin Netanyahu", "PERSON")] * 3


def test_article_full_name_beats_alias_table() -> None:
    # "Biden" means Hunter Biden in an article that names only him, whatever the table says.
    mentions = canonicalize_mentions([("Hunter Biden", "PERSON"), ("Biden", "PERSON")])
    assert mentions == [("Hunter Biden", "PERSON")] * 2


def test_acronym_and_trailing_part_resolve_within_article() -> None:
    mentions = canonicalize_mentions(
        [("Asian Infrastructure Investment Bank", "ORG"), ("AIIB", "ORG"), ("Investment Bank", "ORG")]
    )
    assert mentions == [("Asian Infrastructure Investment Bank", "ORG")] * 3


def test_acronym_does_not_cross_kinds() -> None:
    # "U.S." is a place: an organisation with the same initials in the article must not capture it.
    mentions = canonicalize_mentions([("United Steelworkers", "ORG"), ("U.S.", "GPE")])
    assert mentions == [("United Steelworkers", "ORG"), ("United States", "GPE")]


def test_surname_resolver_uses_most_frequent_full_name() -> None:
    resolver = SurnameResolver()
    resolver.observe([("James Baker", "PERSON")])
    resolver.observe([("James Baker", "PERSON"), ("Baker", "PERSON")])
    resolver.observe([("Howard Baker", "PERSON")])
    assert resolver.resolve("Baker", "PERSON") == "James Baker"
    assert resolver.resolve("Baker", "ORG") == "Baker"
    resolver.observe([("Howard Baker", "PERSON")])
    assert resolver.resolve("Baker", "PERSON") == "Baker"  # a tie: two people, no guess
    assert resolver.resolve("Volcker", "PERSON") == "Volcker"


def test_surname_resolver_forgets_the_least_recent_names_past_its_bound() -> None:
    resolver = SurnameResolver(max_surnames=4)
    resolver.observe([("James Baker", "PERSON")])
    for surname in ("Volcker", "Greenspan", "Miller"):
        resolver.observe([(f"Paul {surname}", "PERSON")])
    resolver.observe([("James Baker", "PERSON")])  # used again: now the most recent
    resolver.observe([("Anna Smith", "PERSON")])  # a fifth surname: the older half goes
    assert resolver.resolve("Baker", "PERSON") == "James Baker"
    assert resolver.resolve("Smith", "PERSON") == "Anna Smith"
    assert resolver.resolve("Volcker", "PERSON") == "Volcker"
    assert len(resolver._full_names) <= 4


# --- entities with spaCy --------------------------------------------------------------------------------------


@needs_spacy
def test_golden_entities_on_fixture(rafah: Article) -> None:
    from newsloom.enrich import extract_entities

    (found,) = extract_entities([rafah])
    by_name = {mention.name: mention for mention in found}
    for person in ("Benjamin Netanyahu", "Joe Biden", "Yoav Gallant"):
        assert by_name[person].type == "PERSON", person
    for place in ("Rafah", "Gaza", "Israel", "United States", "Washington"):
        assert by_name[place].type in ("GPE", "LOC"), place
    for organisation in ("Hamas", "United Nations Security Council"):
        assert by_name[organisation].type == "ORG", organisation
    assert "Netanyahu" not in by_name
    assert not {"U.S.", "US", "U.N.", "Biden", "Israel's"} & set(by_name)
    assert by_name["Benjamin Netanyahu"].count >= 2  # the full name and the later bare surname
    assert by_name["United States"].count >= 5  # "the United States" and every "U.S."
    assert [m.count for m in found] == sorted((m.count for m in found), reverse=True)


@needs_spacy
def test_entities_corpus_resolver_across_articles() -> None:
    from newsloom.enrich import extract_entities

    first = _article("", ["Treasury Secretary James Baker met bankers in Washington on Monday."])
    second = _article("", ["Baker said the dollar had fallen far enough, according to officials."])
    resolver = SurnameResolver()
    extract_entities([first], resolver=resolver)
    (found,) = extract_entities([second], resolver=resolver)
    assert "James Baker" in {m.name for m in found}

@needs_spacy
def test_entities_leave_no_new_strings_in_spacy_vocabulary() -> None:
    """A long stream must not grow the NER process: words first met in a batch are forgotten after it."""
    from newsloom.enrich.entities import _load_ner, article_mentions

    strings = _load_ner().vocab.strings
    before = len(strings)
    invented = [f"Zorblax{n}ian Quuxtopher{n} visited Vrelnbourg{n} on Monday." for n in range(20)]
    found = article_mentions([_article("", [sentence]) for sentence in invented])
    assert any(name.startswith("Quuxtopher") or name.startswith("Zorblax") or name.startswith("Vrelnbourg")
               for mentions in found for name, _ in mentions)
    assert len(strings) == before
    assert "Vrelnbourg7" not in strings


@needs_spacy
def test_enrich_fills_everything(rafah: Article) -> None:
    (enriched,) = enrich([rafah])
    assert enriched.language == "en"
    assert enriched.entities and enriched.keyphrases and enriched.summary
    assert rafah.entities == [] and rafah.summary is None  # the input is untouched


def test_enrich_without_entities_still_works(rafah: Article) -> None:
    (enriched,) = enrich([rafah], entities=False)
    assert enriched.entities == []
    assert enriched.language == "en" and enriched.keyphrases and enriched.summary


def test_missing_spacy_raises_missing_extra(monkeypatch: pytest.MonkeyPatch, rafah: Article) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "spacy" else real_find_spec(name, *a)
    )
    assert not entities_available()
    with pytest.raises(MissingExtraError) as error:
        enrich([rafah], entities=True)
    assert error.value.extra == "nlp" and "pip install 'newsloom[nlp]'" in str(error.value)
    (enriched,) = enrich([rafah])  # entities=None: skipped, the rest still runs
    assert enriched.entities == [] and enriched.summary


# --- keyphrases and summary -----------------------------------------------------------------------------------


def test_keyphrases_on_fixture(rafah: Article) -> None:
    phrases = extract_keyphrases(rafah.text, title=rafah.title, k=8)
    assert 1 <= len(phrases) <= 8
    lowered = [phrase.lower() for phrase in phrases]
    assert any("resolution" in phrase for phrase in lowered)
    assert any(phrase in ("israel", "u.s.", "hamas") for phrase in lowered)
    assert not {"the", "said", "and", "israel's"} & set(lowered)
    assert len(set(lowered)) == len(lowered)


def test_keyphrases_prefer_repeated_phrases() -> None:
    text = (
        "Copper prices rose sharply on Monday. Traders said copper prices were lifted by a strike at a large mine "
        "in Chile. The strike at the mine could cut copper output this year, analysts said. Copper prices have "
        "gained ten percent this month."
    )
    phrases = extract_keyphrases(text, title="Copper prices jump on Chile mine strike", k=4)
    assert phrases[0] == "copper prices"
    assert "said" not in phrases and "monday" not in [p.lower() for p in phrases]


def test_keyphrases_k_and_language() -> None:
    assert extract_keyphrases("Der Bundestag hat das Gesetz über die Rente beschlossen.", k=0) == []
    german = extract_keyphrases(
        "Der Bundestag hat das Rentengesetz beschlossen. Das Rentengesetz tritt im Januar in Kraft.", language="de"
    )
    assert german[0].lower() == "rentengesetz"
    assert not {"der", "das", "hat"} & {p.lower() for p in german}


def test_summary_on_fixture(rafah: Article) -> None:
    summary = summarize(rafah.paragraphs, title=rafah.title, max_sentences=3)
    assert summary.startswith("The tension between the United States and Israel")  # the lead
    article_sentences = [sentence for paragraph in rafah.paragraphs for sentence in split_sentences(paragraph)]
    picked = split_sentences(summary)
    assert 2 <= len(picked) <= 3
    assert all(sentence in article_sentences for sentence in picked)  # whole sentences of the article
    assert picked == sorted(picked, key=article_sentences.index)  # in article order
    assert split_sentences(summarize(rafah.paragraphs, max_sentences=1)) == [article_sentences[0]]


def test_split_sentences_respects_abbreviations() -> None:
    text = "U.S. officials met Mr. Smith in Washington. He left at 5 p.m. on Friday. John F. Kennedy was not there!"
    assert split_sentences(text) == [
        "U.S. officials met Mr. Smith in Washington.",
        "He left at 5 p.m. on Friday.",
        "John F. Kennedy was not there!",
    ]


def test_summary_keeps_article_order_and_skips_repeats() -> None:
    lead = "The company said on Tuesday that quarterly profit rose sharply on strong demand for its chips."
    paragraphs = [
        lead,
        "Shares of the chipmaker jumped in early trading after the results were published.",
        "Analysts had expected a smaller increase in profit for the quarter.",
        lead,
    ]
    summary = summarize(paragraphs, max_sentences=3)
    assert summary.count(lead) == 1
    assert summary.startswith(lead)


def test_reading_time() -> None:
    assert reading_time_minutes("") == 0
    assert reading_time_minutes("one two three") == 1
    assert reading_time_minutes("word " * 230 * 4) == 4
    assert reading_time_minutes("word " * 1000) == 4  # 4.3 minutes


# --- hostile input ----------------------------------------------------------------------------------------------

HOSTILE = [
    "",
    " \n\n \t ",
    "\x00\x01\x02\x03" * 1000,
    "\ud800 lone surrogate \udfff and text",
    "".join(chr(i) for i in range(0x20, 0x3000, 7)),
    ("A" * 5000 + " ") * 20,
    "¿?¡! ... --- *** ### " * 200,
    bytes(range(256)).decode("latin-1") * 40,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_never_crashes(text: str) -> None:
    detect_language(text)
    assert isinstance(extract_keyphrases(text, title=text[:100]), list)
    assert isinstance(summarize([text], title=text[:50]), str)
    assert reading_time_minutes(text) >= 0
    (enriched,) = enrich([_article(text[:100], [text])], entities=entities_available())
    assert isinstance(enriched.entities, list)


def test_huge_text_is_bounded() -> None:
    import time

    paragraph = (
        "The ministry said exports of steel and coal to Japan rose in the quarter, lifting the trade surplus. "
    ) * 20
    huge = [paragraph] * 2500  # ~5 MB of text
    start = time.perf_counter()
    assert summarize(huge, max_sentences=2)
    assert extract_keyphrases("\n\n".join(huge), k=5)
    assert detect_language("\n\n".join(huge)) == "en"
    (enriched,) = enrich([_article("Steel exports", huge)], entities=entities_available())
    assert time.perf_counter() - start < 20
    assert enriched.summary and enriched.keyphrases


def test_enrich_in_two_processes_matches_one(rafah: Article) -> None:
    # Distinct articles (a sentence naming a different city each) so chunks differ; 2 x 32 is the fork threshold.
    cities = ["Paris", "Berlin", "Madrid", "Rome", "Vienna", "Oslo", "Lisbon", "Warsaw"]
    articles = [
        _article(f"Story {i}", [f"Officials in {cities[i % len(cities)]} met on day {i}.", *rafah.paragraphs[:3]])
        for i in range(70)
    ]
    with_entities = entities_available()
    single = enrich(articles, entities=with_entities, n_process=1)
    double = enrich(articles, entities=with_entities, n_process=2)
    assert [a.to_dict() for a in double] == [a.to_dict() for a in single]
