"""Hostile input: property-based tests for every parser (HTML, flattened text, feeds, sitemaps, OPML, WARC/WET,
JSONL/CSV, the query language), plus the XML attacks (entity expansion, external entities) and size bombs.

The property, for every input: the parser returns, or raises a documented newsloom error (errors.py) with a message.
Inputs are real fixtures mutated by hypothesis-driven operations (tests/fuzzing.py), raw bytes, and soups of hostile
tokens. bench/fuzz.py runs the same targets for 10,000+ inputs each.
"""

from __future__ import annotations

import gzip
import time
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsloom.errors import InputError, InputTooLargeError, NewsloomError, QueryError

from .fuzzing import FIXTURES, HOSTILE_TOKENS, MUTATORS, TARGETS, TARGETS_BY_NAME, failure_of, mutate

pytest.importorskip("feedparser", reason="feeds need the sources extra (pip install 'newsloom[sources]')")
pytest.importorskip("fastwarc", reason="WARC reading needs the sources extra (pip install 'newsloom[sources]')")

pytestmark = pytest.mark.reliability

TARGET_NAMES = [target.name for target in TARGETS]
FUZZ_SETTINGS = settings(
    max_examples=120, deadline=None, database=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
mutation_ops = st.lists(st.tuples(st.integers(0, len(MUTATORS)), st.integers(0, 2**32 - 1)), min_size=1, max_size=6)
token_soup = st.lists(st.sampled_from(HOSTILE_TOKENS) | st.binary(max_size=24), max_size=40).map(b"".join)


def assert_documented(name: str, data: bytes) -> None:
    failure = failure_of(TARGETS_BY_NAME[name], data)
    assert failure is None, f"{name} parser: {failure}\ninput (first 600 bytes): {data[:600]!r}"


@pytest.mark.parametrize("name", TARGET_NAMES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_real_inputs_fail_only_with_documented_errors(name, data):
    seeds = TARGETS_BY_NAME[name].seeds()
    seed = data.draw(st.sampled_from(seeds), label="seed")
    other = data.draw(st.sampled_from(seeds), label="splice source")
    ops = data.draw(mutation_ops, label="ops")
    assert_documented(name, mutate(seed, ops, other))


@pytest.mark.parametrize("name", TARGET_NAMES)
@settings(FUZZ_SETTINGS, max_examples=60)
@given(raw=st.binary(max_size=4096) | token_soup)
def test_arbitrary_bytes_fail_only_with_documented_errors(name, raw):
    assert_documented(name, raw)


@settings(FUZZ_SETTINGS, max_examples=300)
@given(text=st.text(max_size=300) | token_soup.map(lambda b: b.decode("utf-8", "replace")))
def test_query_language_never_leaks_into_fts5(text):
    assert_documented("query", text.encode("utf-8", "surrogatepass"))


@settings(FUZZ_SETTINGS, max_examples=300)
@given(text=st.text(max_size=200) | st.from_regex(r"\d{1,6}[-/. ]\d{1,3}[-/. ]\d{1,6}( \d{1,3}:\d{1,3}(:\d{1,3})?)?"))
def test_date_text_parser_returns_a_date_or_none(text):
    from newsloom.extract.dates import parse_date_text

    value = parse_date_text(text)
    assert value is None or isinstance(value, datetime)


# -- XML attacks ---------------------------------------------------------------------------------------------------
BILLION_LAUGHS = (FIXTURES / "sources" / "billion-laughs.xml").read_bytes()
EXTERNAL_ENTITY = (FIXTURES / "sources" / "external-entity.xml").read_bytes()
PARAMETER_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % remote SYSTEM "http://canary.invalid/evil.dtd">'
                    b"%remote;]><rss version='2.0'><channel><title>t</title></channel></rss>")
EXTERNAL_DTD = (b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml version="2.0"><body>'
                b'<outline type="rss" text="x" xmlUrl="https://news.example.org/rss"/></body></opml>')


def _xml_parsers():
    from newsloom.sources.feeds import parse_feed, parse_opml
    from newsloom.sources.sitemaps import parse_sitemap

    return {"feed": parse_feed, "sitemap": parse_sitemap, "opml": parse_opml}


@pytest.mark.parametrize("parser", ["feed", "sitemap", "opml"])
@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY,
                                      BILLION_LAUGHS.decode("utf-8").encode("utf-16"),
                                      EXTERNAL_ENTITY.replace(b"<!ENTITY", b"<!entity")],
                         ids=["billion-laughs", "external-entity", "parameter-entity", "utf16-laughs", "lowercase"])
def test_entity_declarations_are_refused_fast(parser, document):
    started = time.perf_counter()
    with pytest.raises(InputError) as refused:
        _xml_parsers()[parser](document)
    # The sitemap reader takes only UTF-8 (the protocol's rule), so it refuses a UTF-16 document before any XML.
    assert "entit" in str(refused.value) or (parser == "sitemap" and document.startswith(b"\xff\xfe"))
    assert time.perf_counter() - started < 1.0


def test_an_external_dtd_is_never_loaded():
    from newsloom.sources.feeds import parse_opml

    subscriptions = parse_opml(EXTERNAL_DTD)  # a DOCTYPE alone is allowed, but nothing it names is read
    assert [s.url for s in subscriptions] == ["https://news.example.org/rss"]
    assert "root:" not in repr(subscriptions)


# -- size bombs and depth ------------------------------------------------------------------------------------------
def test_a_gzip_bomb_sitemap_stops_at_the_limit():
    from newsloom.sources.sitemaps import MAX_SITEMAP_BYTES, parse_sitemap

    bomb = gzip.compress(b"<urlset>" + b" " * (MAX_SITEMAP_BYTES + 10), compresslevel=9)
    assert len(bomb) < 200_000
    with pytest.raises(InputTooLargeError):
        parse_sitemap(bomb)


def test_oversized_documents_are_refused_with_the_size_error():
    from newsloom.extract import extract_html
    from newsloom.extract.html import MAX_INPUT_BYTES
    from newsloom.sources.feeds import MAX_FEED_BYTES, parse_feed

    with pytest.raises(InputTooLargeError):
        extract_html(b"<p>" + b"a" * MAX_INPUT_BYTES)
    with pytest.raises(InputTooLargeError):
        parse_feed(b"<rss>" + b" " * MAX_FEED_BYTES)
    with pytest.raises(QueryError, match="limit"):
        TARGETS_BY_NAME["query"].run(b"a " * 600)


@pytest.mark.parametrize("name,document", [
    ("html", b"<html><body>" + b"<div>" * 20_000 + b"<p>deep text, deeper than any real page.</p>"),
    ("html", b"<html><body>" + b"<table><tr><td>" * 4_000 + b"cell"),
    ("flattened-text", b"word " * 400_000),
    ("flattened-text", (b"x" * 200_000 + b"\n") * 5),
    ("feed", b"<rss version='2.0'><channel>" + b"<item><title>" * 20_000 + b"t"),
    ("sitemap", b"<urlset>" + b"<url>" * 20_000),
    ("opml", b"<opml><body>" + b"<outline text='a'>" * 5_000 + b"</body></opml>"),
    ("jsonl", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"),
    ("jsonl", b'{"text": "' + b"a" * 1_000_000 + b'", "published_at": "2024-99-99"}\n'),
    ("csv", b"text,title\n\"" + b"a" * 300_000 + b"\n"),
    ("query", b'"' + b"a " * 400 + b'"'),
], ids=["html-div-nest", "html-table-nest", "text-one-line", "text-long-lines", "feed-nest", "sitemap-nest",
        "opml-nest", "jsonl-deep-json", "jsonl-huge-line", "csv-unclosed-quote", "query-long-phrase"])
def test_deep_and_long_inputs_fail_only_with_documented_errors(name, document):
    started = time.perf_counter()
    assert_documented(name, document)
    assert time.perf_counter() - started < 20  # bounded work, even on two busy cores


def test_every_failure_is_a_newsloom_error_with_a_message():
    """The checker itself: a parser crash is reported, a documented error is not."""
    from .fuzzing import Target

    def crash(data: bytes) -> None:
        raise IndexError("list index out of range")

    def refuse(data: bytes) -> None:
        raise InputError("not a feed")

    def silent(data: bytes) -> None:
        raise NewsloomError("")

    assert "IndexError" in (failure_of(Target("crash", tuple, crash), b"") or "")
    assert failure_of(Target("refuse", tuple, refuse), b"") is None
    assert "without a message" in (failure_of(Target("silent", tuple, silent), b"") or "")
