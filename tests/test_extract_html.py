"""HTML extraction: the body-quality gate over pinned real pages, metadata, and hostile input."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsloom.errors import DecodeError, ExtractionError, InputError, InputTooLargeError
from newsloom.evaluation import corpus_score, page_score
from newsloom.extract.html import MAX_INPUT_BYTES, extract_html
from newsloom.model import DATE_SOURCES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "html" / "scrapinghub"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "extraction" / "scrapinghub"

# Measured when the gate was set: 0.958 on the 15 pinned pages, 0.973 (P 0.967) on all 181 pages.
PINNED_F1_FLOOR = 0.94
FULL_F1_FLOOR = 0.96
FULL_PRECISION_FLOOR = 0.95

PARAGRAPHS = [
    "The city council approved the new transit plan on Tuesday, after a debate that lasted most of the night.",
    "Supporters said the plan, which adds three bus lines and a tram, would cut commuting times by a fifth.",
    "Opponents argued that the cost, estimated at 40 million euros, had not been explained to residents.",
    "The first works are expected to start next spring, according to the mayor's office, if funding holds.",
]


def _page(head: str = "", body_extra: str = "", title: str = "Council approves transit plan", lang: str = "en") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!doctype html><html lang="{lang}"><head><title>{title} | City News</title>{head}</head>
    <body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
    <article><h1>{title}</h1><div class="byline">By Jane Doe</div>
    <div class="article-body">{paragraphs}</div>{body_extra}</article>
    <footer>Copyright City News. All rights reserved. <a href="/privacy">Privacy</a></footer></body></html>"""


def _score(pages: list[tuple[bytes, str, str | None]]):
    return corpus_score(page_score(extract_html(html, url=url).text, truth) for html, truth, url in pages)


# --- the regression gate ----------------------------------------------------------------------------------------


def test_pinned_pages_keep_their_body_f1():
    truth = json.loads((FIXTURES / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [(gzip.decompress((FIXTURES / f"{k}.html.gz").read_bytes()), v["articleBody"], v["url"]) for k, v in truth.items()]
    assert len(pages) == 15
    score = _score(pages)
    assert score.f1 >= PINNED_F1_FLOOR, score


@pytest.mark.shared_data
def test_full_scrapinghub_benchmark_keeps_its_body_f1():
    if not (SHARED / "ground-truth.json").exists():
        pytest.skip(f"the Scrapinghub benchmark is not at {SHARED}")
    truth = json.loads((SHARED / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [(gzip.decompress((SHARED / "html" / f"{k}.html.gz").read_bytes()), v["articleBody"], v["url"]) for k, v in truth.items()]
    score = _score(pages)
    assert score.pages == 181
    assert score.f1 >= FULL_F1_FLOOR, score
    assert score.precision >= FULL_PRECISION_FLOOR, score


def test_non_latin_pages_are_extracted():
    truth = json.loads((FIXTURES / "ground-truth.json").read_text(encoding="utf-8"))
    for item_id in ("85439e26c41c", "0ec95c7261d1", "f105de6e63ca"):  # Chinese, Korean, Japanese
        key = next(k for k in truth if k.startswith(item_id))
        article = extract_html(gzip.decompress((FIXTURES / f"{key}.html.gz").read_bytes()), url=truth[key]["url"])
        score = page_score(article.text, truth[key]["articleBody"])
        assert score.precision > 0.8 and score.recall > 0.8, (item_id, score)


# --- body shape -----------------------------------------------------------------------------------------------------


def test_body_is_paragraphs_without_navigation_or_footer():
    article = extract_html(_page(), url="https://news.example.com/2024/03/25/transit-plan")
    assert article.paragraphs == PARAGRAPHS
    assert "Privacy" not in article.text and "Home" not in article.text


def test_headings_and_list_items_are_their_own_paragraphs():
    html = _page().replace(
        f"<p>{PARAGRAPHS[-1]}</p>",
        f"<p>{PARAGRAPHS[-1]}</p><h2>What happens next</h2><ul><li>A public consultation in May, in every district.</li>"
        "<li>A final vote in June, before the summer break.</li></ul>",
    )
    article = extract_html(html)
    assert "What happens next" in article.paragraphs
    assert "A final vote in June, before the summer break." in article.paragraphs


def test_related_block_becomes_teasers_not_body():
    related = (
        '<div class="related-stories"><h3>Related</h3><ul>'
        '<li><a href="/2024/03/20/bus-fares">Bus fares to rise by ten percent next year</a></li>'
        '<li><a href="https://other.example.org/tram">How the old tram network was dismantled</a></li>'
        "</ul></div>"
    )
    article = extract_html(_page(body_extra=related), url="https://news.example.com/2024/03/25/transit-plan")
    assert "Bus fares" not in article.text
    titles = [t.title for t in article.teasers]
    assert "Bus fares to rise by ten percent next year" in titles
    assert article.teasers[0].url == "https://news.example.com/2024/03/20/bus-fares"


def test_article_and_other_page_types():
    head = '<meta property="og:type" content="article">'
    assert extract_html(_page(head=head)).page_type == "article"
    listing = "<html><head><title>Shop</title><meta property='og:type' content='website'></head><body>" + "".join(
        f"<div class='item'><a href='/p/{i}'>Product {i}</a> <span>9.99</span></div>" for i in range(30)
    ) + "</body></html>"
    assert extract_html(listing).page_type == "other"


# --- metadata -------------------------------------------------------------------------------------------------------


def test_metadata_from_open_graph_and_json_ld():
    head = """
    <link rel="canonical" href="/2024/03/25/transit-plan?utm_source=x">
    <meta property="og:site_name" content="City News">
    <meta property="og:image" content="/img/tram.jpg">
    <script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
      "headline": "Council approves transit plan", "author": {"@type": "Person", "name": "Jane Doe"},
      "datePublished": "2024-03-25T08:30:00+01:00", "dateModified": "2024-03-26T10:00:00+01:00"}</script>"""
    article = extract_html(_page(head=head), url="https://www.news.example.com/x?id=1")
    assert article.title == "Council approves transit plan"
    assert article.author == "Jane Doe"
    assert article.canonical_url == "https://www.news.example.com/2024/03/25/transit-plan"
    assert article.site == "City News"
    assert article.image == "https://www.news.example.com/img/tram.jpg"
    assert article.language == "en"
    assert article.published_at == datetime(2024, 3, 25, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    assert article.published_at_source == "json-ld"
    assert 0.9 <= article.published_at_confidence <= 1.0


def test_metadata_fallbacks_without_structured_data():
    article = extract_html(_page(lang="de-DE"), url="https://www.news.example.com/story")
    assert article.title == "Council approves transit plan"
    assert article.author == "Jane Doe"
    assert article.site == "news.example.com"
    assert article.canonical_url == "https://www.news.example.com/story"
    assert article.language == "de"


def test_title_is_the_heading_that_agrees_with_the_stated_title():
    # The <h1> "Site name" logo matches only the site segment of the <title>: the title's first segment wins.
    logo = "<html><head><title>What is Ownership? - The Rust Book</title></head><body><h1>The Rust Book</h1>"
    logo += "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</body></html>"
    assert extract_html(logo).title == "What is Ownership?"
    # A heading that is part of the stated title is the page's own wording of it; a menu's <h1> is not.
    heading = "<html><head><title>Is it really always the DNS? | APNIC Blog</title></head><body>"
    heading += "<h1>Home</h1><h1>Is it really always the DNS?</h1>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    assert extract_html(heading + "</body></html>").title == "Is it really always the DNS?"
    # Entities escaped twice by the publisher's CMS are read as the characters they stand for.
    entity = "<html><head><meta property='og:title' content='Create &amp;#038; Market Tours'></head><body>"
    entity += "<h1>Create &amp; Market Tours</h1>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</body></html>"
    assert extract_html(entity).title == "Create & Market Tours"


@pytest.mark.parametrize(
    "byline, author",
    [
        ('<div class="byline">By Jane Doe, Senior Transport Correspondent at City News</div>', "Jane Doe"),
        ('<p class="author-by-line-text"><span>By </span>Scott Pletcher</p>', "Scott Pletcher"),
        ('<aside class="post-author">Katie Liguori</aside>', "Katie Liguori"),
        ('<a href="/authors/trevor-jackins">Trevor Jackins</a>', "Trevor Jackins"),
        ('<div class="byline">Rasmus Barslund Updated Feb 27, 2026</div>', "Rasmus Barslund"),
        ('<div class="byline">Dylan Bailey, MS, RD, FAND</div>', "Dylan Bailey, MS, RD, FAND"),
        ('<div class="byline">Theresa May</div>', "Theresa May"),
    ],
)
def test_author_from_bylines(byline, author):
    page = _page().replace('<div class="byline">By Jane Doe</div>', byline)
    assert extract_html(page).author == author


def test_author_from_card_labels_and_graph_references():
    twitter = '<meta name="twitter:label1" content="Written by"><meta name="twitter:data1" content="Jayesh Shinde">'
    page = _page(head=twitter).replace('<div class="byline">By Jane Doe</div>', "")
    assert extract_html(page).author == "Jayesh Shinde"
    graph = """<script type="application/ld+json">{"@graph": [
      {"@type": "Article", "headline": "x", "author": {"@id": "https://e.com/#jane"}},
      {"@type": "Person", "@id": "https://e.com/#jane", "name": "Jane Roe"}]}</script>"""
    assert extract_html(_page(head=graph)).author == "Jane Roe"


def test_content_kept_in_noscript_for_readers_without_javascript():
    posts = "".join(f"<div class='post'><p>{p}</p></div>" for p in PARAGRAPHS * 6)
    page = f"<html><head><title>Thread</title></head><body><div id='app'></div><noscript>{posts}</noscript></body></html>"
    article = extract_html(page)
    assert PARAGRAPHS[0] in article.paragraphs
    small = _page(body_extra="<noscript><img src='pixel.gif'> Please enable JavaScript for comments.</noscript>")
    assert not any("enable JavaScript" in p for p in extract_html(small).paragraphs)


def test_page_builder_widgets_are_not_boilerplate_when_they_hold_the_text():
    widgets = "".join(
        f"<div class='elementor-widget elementor-widget-text-editor'><div class='elementor-widget-container'><p>{p}</p></div></div>"
        for p in PARAGRAPHS
    )
    page = f"<html><head><title>Guide</title></head><body><div class='elementor-widget-wrap'>{widgets}</div>"
    page += "<div class='sidebar-widget'><p>Sign up for our newsletter and get ten percent off, today only!</p></div></body></html>"
    paragraphs = extract_html(page).paragraphs
    assert PARAGRAPHS[0] in paragraphs and PARAGRAPHS[-1] in paragraphs


def test_listing_cards_are_the_content_of_a_listing_page():
    cards = "".join(
        f"<a href='/news/story-{i}'><h2>Headline number {i} about the transit plan</h2>"
        f"<p>A short excerpt for story {i}, with enough words to read like a teaser of the story.</p></a>"
        for i in range(12)
    )
    page = "<html><head><title>Transit news</title><meta property='og:type' content='website'></head><body>"
    page += f"<nav><a href='/'>Home</a><a href='/a'>About</a></nav><main><h1>Transit news</h1>{cards}</main></body></html>"
    article = extract_html(page, url="https://news.example.com/topics/transit")
    assert article.page_type == "other"
    assert "Headline number 7 about the transit plan" in article.paragraphs
    assert not any(p in ("Home", "About") for p in article.paragraphs)


def test_date_from_meta_time_element_and_url():
    meta = extract_html(_page(head='<meta property="article:published_time" content="2023-05-02T10:00:00Z">'))
    assert (meta.published_at.date().isoformat(), meta.published_at_source) == ("2023-05-02", "meta")
    timed = extract_html(_page(body_extra='<time datetime="2022-11-03T09:00:00+00:00">3 Nov 2022</time>'))
    assert (timed.published_at.date().isoformat(), timed.published_at_source) == ("2022-11-03", "time-element")
    from_url = extract_html(_page(), url="https://news.example.com/2021/07/14/transit-plan")
    assert (from_url.published_at.date().isoformat(), from_url.published_at_source) == ("2021-07-14", "url")


def test_no_date_is_unknown_and_future_dates_are_refused():
    plain = extract_html(_page(), url="https://news.example.com/transit-plan")
    assert plain.published_at is None
    assert plain.published_at_source == "unknown" and plain.published_at_confidence == 0.0
    future = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ahead = extract_html(_page(head=f'<meta property="article:published_time" content="{future}">'))
    assert ahead.published_at is None or ahead.published_at <= datetime.now(timezone.utc) + timedelta(days=1)
    assert ahead.published_at_source in DATE_SOURCES


def test_article_id_is_stable_and_keyed_by_canonical_url():
    head = '<link rel="canonical" href="https://news.example.com/transit">'
    first = extract_html(_page(head=head), url="https://news.example.com/transit?utm_source=feed")
    second = extract_html(_page(head=head).encode("utf-8"), url="https://news.example.com/transit?fbclid=abc")
    assert first.id == second.id and len(first.id) == 16


# --- hostile input --------------------------------------------------------------------------------------------------


@pytest.mark.reliability
@pytest.mark.parametrize("content", [b"", "", "   \n  ", b"<html><body></body></html>"])
def test_empty_pages_raise_extraction_error(content):
    with pytest.raises(ExtractionError):
        extract_html(content)


@pytest.mark.reliability
def test_binary_garbage_raises_decode_error():
    garbage = bytes(range(256)) * 64
    with pytest.raises(DecodeError):
        extract_html(garbage)


@pytest.mark.reliability
def test_huge_input_is_refused_before_parsing():
    with pytest.raises(InputTooLargeError):
        extract_html(b"<p>" + b"a" * MAX_INPUT_BYTES + b"</p>")


@pytest.mark.reliability
def test_truncated_page_still_extracts():
    html = _page().encode("utf-8")
    cut = html[: html.index(PARAGRAPHS[2].encode()) + 40]
    article = extract_html(cut)
    assert article.paragraphs[:2] == PARAGRAPHS[:2]


@pytest.mark.reliability
def test_deeply_nested_page_does_not_crash():
    depth = 10_000
    html = "<html><body>" + "<div>" * depth + " ".join(PARAGRAPHS) + "</div>" * depth + "</body></html>"
    try:
        article = extract_html(html)
    except InputError:
        return  # a clean refusal is acceptable; a crash is not
    assert PARAGRAPHS[0] in article.text


@pytest.mark.reliability
def test_wrong_declared_encoding_is_recovered():
    text = _page(title="Café culture returns to the old town").replace("The city council", "Le café du conseil")
    # Declares UTF-8 but the bytes are windows-1252.
    html = text.replace("<head>", '<head><meta charset="utf-8">').encode("cp1252")
    article = extract_html(html)
    assert "Café culture returns to the old town" == article.title
    assert article.paragraphs[0].startswith("Le café du conseil")
    # Declares latin-1 but the bytes are UTF-8.
    mislabelled = text.replace("<head>", '<head><meta charset="iso-8859-1">').encode("utf-8")
    assert extract_html(mislabelled).title == "Café culture returns to the old town"


@pytest.mark.reliability
def test_script_in_title_stays_text():
    html = "<html><head><title>Breaking <script>alert(1)</script> news</title></head><body>" + "".join(
        f"<p>{p}</p>" for p in PARAGRAPHS
    ) + "<script>document.write('injected body')</script></body></html>"
    article = extract_html(html)
    assert "<script>alert(1)</script>" in article.title  # kept as literal text, never markup
    assert "injected" not in article.text
    assert "alert" not in article.text


@pytest.mark.reliability
def test_wrong_argument_type_is_a_type_error():
    with pytest.raises(TypeError):
        extract_html(12345)  # type: ignore[arg-type]
