"""Publication dates: when the printed dateline overrules what the page states for machines, and the guards
around it (one small hand-written page per rule)."""

from __future__ import annotations

from datetime import datetime, timezone

from newsloom.extract.dates import DateGuess, find_publication_date, parse_date_text

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def _page(head: str = "", body: str = "") -> str:
    return f"<html><head><title>t</title>{head}</head><body>{body}<p>Some text of the article.</p></body></html>"


def _find(html: str, url: str | None = None) -> DateGuess:
    return find_publication_date(html, url, now=NOW)


def _day(found: DateGuess) -> str | None:
    return found.value.date().isoformat() if found.value else None


def _ld(published: str, modified: str | None = None) -> str:
    extra = f', "dateModified": "{modified}"' if modified else ""
    return f'<script type="application/ld+json">{{"@type": "NewsArticle", "datePublished": "{published}"{extra}}}</script>'


def test_generic_meta_date_loses_to_the_printed_dateline():
    # A bare "date" meta field is often the time the CMS generated the page, not when the story came out.
    head = '<meta name="date" content="2024-02-12">'
    found = _find(_page(head, '<h1>Fair supply chains for everyone</h1><p>05.02.2024 | News</p>'))
    assert (_day(found), found.source) == ("2024-02-05", "text")
    # A specific field is kept against the same printed date.
    specific = _find(_page('<meta property="article:published_time" content="2024-02-12T10:00:00+01:00">',
                           '<h1>Fair supply chains for everyone</h1><p>05.02.2024 | News</p>'))
    assert (_day(specific), specific.source) == ("2024-02-12", "meta")


def test_bare_day_without_time_loses_to_a_time_element():
    head = '<meta property="og:article:published_time" content="2024-01-15">'
    found = _find(_page(head, '<time datetime="2024-01-25T09:00:00+01:00">25.01.2024</time>'))
    assert (_day(found), found.source) == ("2024-01-25", "time-element")


def test_json_ld_date_the_page_shows_as_superseded_by_its_modified_day():
    # The page prints its dateModified day as its date: the day readers (and annotators) see.
    head = _ld("2023-08-21T13:09:00Z", "2024-04-03T08:04:01Z")
    found = _find(_page(head, '<time datetime="2024-04-03T10:04:01+02:00">3. April 2024</time>'))
    assert (_day(found), found.source) == ("2024-04-03", "time-element")
    # Printed nowhere: the stated publication stands.
    assert _day(_find(_page(head))) == "2023-08-21"


def test_json_ld_and_meta_disagree_the_printed_one_wins():
    head = _ld("2024-01-04T07:29:00Z") + '<meta property="article:published_time" content="2024-01-06T08:29:34">'
    found = _find(_page(head, '<h1>Vanlife in Sweden, a winter trip</h1><p>06.01.2024</p>'))
    assert (_day(found), found.source) == ("2024-01-06", "meta")
    assert _day(_find(_page(head))) == "2024-01-04"  # nothing printed: JSON-LD first


def test_printed_date_outside_the_url_month_does_not_overrule():
    # "18. Januar 2024" by the headline belongs to a teaser list: the URL says the story is from October.
    head = '<meta property="article:published_time" content="2024-01-30">'
    body = '<h1>New running shoes bring speed</h1><p>Loop battle 18. Januar 2024</p>'
    found = _find(_page(head, body), url="https://blog.example.com/2024/01/new-shoes/")
    assert _day(found) == "2024-01-18"
    kept = _find(_page(head, body), url="https://blog.example.com/2023/10/new-shoes/")
    assert (_day(kept), kept.source) == ("2024-01-30", "meta")


def test_utc_instant_takes_the_url_day_only_when_a_time_zone_can_reach_it():
    url = "https://news.example.com/politics/2024/03/08/story/"
    # 10:04 UTC is 06:04 in New York: no inhabited zone puts it on the 8th.
    late = _find(_page(_ld("2024-03-09T10:04:04Z")), url=url)
    assert (_day(late), late.source) == ("2024-03-09", "json-ld")
    # 02:30 UTC is the evening before in the Americas: the URL's day is the publisher's day.
    early = _find(_page(_ld("2024-03-09T02:30:00Z")), url=url)
    assert (_day(early), early.source) == ("2024-03-08", "url")


def test_last_revision_date_when_nothing_says_published():
    body = (
        "<p>Eislaufsaison: 6. Oktober 2023 bis 25. März 2024.</p><p>Bewerbungsschluss: 15. November 2023.</p>"
        "<p>Preisverleihung 15. November 2023.</p><footer>Stand: 09.10.2023, 01:40 Uhr</footer>"
    )
    found = _find(f"<html><head><title>Startseite</title></head><body>{body}</body></html>")
    assert (_day(found), found.source) == ("2023-10-09", "text")
    assert found.confidence < 0.5


def test_headline_split_over_lines_is_still_found():
    body = "<div><h2>Council approves\n   the new\ttransit plan</h2><span>21. Januar 2024</span></div>"
    html = f"<html><head><title>Council approves the new transit plan | City</title></head><body>{body}</body></html>"
    found = _find(html)
    assert (_day(found), found.source) == ("2024-01-21", "text")


def test_digit_boundaries_of_the_fast_patterns():
    assert parse_date_text("ref 12024-03-25", now=NOW) is None
    assert parse_date_text("id 412/03/2024", now=NOW) is None
    assert parse_date_text("no 101.2.2024", now=NOW) is None
    assert parse_date_text("x1.2.2024", now=NOW).date().isoformat() == "2024-02-01"
    assert parse_date_text("v3, 2024", now=NOW) is None


def test_json_ld_nested_too_deep_to_parse_is_no_crash() -> None:
    from newsloom.extract import extract_html

    deep = "[" * 200_000 + '"datePublished": "2024-03-26"' + "]" * 200_000
    page = f'<html><head><script type="application/ld+json">{deep}</script></head><body><p>Text.</p></body></html>'
    extract_html(page.encode())  # the broken-JSON-LD reader must not raise RecursionError
