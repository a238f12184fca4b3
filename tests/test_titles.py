"""Title selection (extract/metadata.py): which of the page's own candidates is its title.

Candidates are the titles stated for machines (Open Graph, <title>, Twitter card, JSON-LD headline) and the
visible <h1> headings. Each test pins one rule with a small page; the WCXB figure itself is bench/wcxb.py's job.
"""

from __future__ import annotations

import pytest

from newsloom.extract.html import extract_html

BODY = "".join(
    f"<p>{text}</p>"
    for text in (
        "The council voted on Tuesday to approve the new plan after a long debate that lasted well into the night.",
        "Supporters said the plan would cut travel times across the city, while critics worried about the cost.",
        "Work is expected to begin next spring and to finish within three years, the council said in a statement.",
    )
)


def _page(head: str, body_top: str = "") -> str:
    return f"<html><head>{head}</head><body>{body_top}{BODY}</body></html>"


ARTICLE_TYPE = '<meta property="og:type" content="article">'


def test_a_reworded_visible_headline_beats_the_search_title_on_an_article():
    head = f"<title>Debunking Common Food Myths - Scripps Health</title>{ARTICLE_TYPE}"
    page = _page(head, "<h1>9 Common Food Myths Debunked</h1>")
    assert extract_html(page, url="https://www.scripps.org/news/food-myths").title == "9 Common Food Myths Debunked"


def test_a_reworded_heading_on_a_page_that_is_not_an_article_leaves_the_stated_title():
    head = "<title>Managed Data Analytics Services | ScienceSoft</title>"
    page = _page(head, "<h1>Managed Analytics Services</h1>")
    assert extract_html(page, url="https://www.scnsoft.example/data/analytics/managed").title == (
        "Managed Data Analytics Services"
    )


def test_json_ld_article_type_also_makes_the_reworded_headline_win():
    head = (
        "<title>Debunking Common Food Myths - Scripps Health</title>"
        '<script type="application/ld+json">{"@type": "BlogPosting", "name": "x"}</script>'
    )
    page = _page(head, "<h1>9 Common Food Myths Debunked</h1>")
    assert extract_html(page, url="https://www.scripps.org/news/food-myths").title == "9 Common Food Myths Debunked"


def test_a_hero_slogan_unrelated_to_the_stated_title_is_not_the_title():
    head = '<title>Resume Writing Services | CareerCo</title><meta property="og:site_name" content="CareerCo">'
    page = _page(head, "<h1>Land your next job faster</h1>")
    assert extract_html(page, url="https://careerco.example/resumes").title == "Resume Writing Services"


def test_a_heading_naming_the_site_is_a_logo_and_the_stated_title_wins():
    head = (
        "<title>RogerBW's Blog: Advent of Code 2025 week 2</title>"
        '<meta property="og:title" content="Advent of Code 2025 week 2">'
        """<meta property="og:site_name" content="RogerBW's Blog">"""
    )
    page = _page(head, "<h1>RogerBW's Blog</h1><h1>Day 7</h1>")
    assert extract_html(page, url="https://blog.example.org/2025/12/aoc.html").title == "Advent of Code 2025 week 2"


def test_the_site_name_comes_off_the_stated_title_when_there_is_no_heading():
    head = '<title>Camping Tents: Large Tents for Family | REI Co-op</title><meta property="og:site_name" content="REI Co-op">'
    assert extract_html(_page(head), url="https://www.rei.com/c/camping-tents").title == (
        "Camping Tents: Large Tents for Family"
    )


def test_open_graph_title_is_read_before_the_title_tag():
    head = (
        "<title>\u202aGeoffrey Hinton\u202c - \u202aGoogle Scholar\u202c</title>"
        '<meta property="og:title" content="Geoffrey Hinton">'
    )
    assert extract_html(_page(head), url="https://scholar.example.com/citations?user=x").title == "Geoffrey Hinton"


@pytest.mark.parametrize(
    "heading",
    ["Tutorial - User Guide \u00b6", "Tutorial - User\u200b Guide", "Tutorial &amp; User Guide"],
)
def test_anchor_signs_invisible_marks_and_entities_are_not_part_of_the_title(heading: str) -> None:
    head = f"<title>Tutorial - User Guide - FastAPI</title>{ARTICLE_TYPE}"
    title = extract_html(_page(head, f"<h1>{heading}</h1>"), url="https://fastapi.example.com/tutorial/").title
    assert title in ("Tutorial - User Guide", "Tutorial & User Guide")
    assert "\u00b6" not in title and "\u200b" not in title


def test_template_placeholders_are_never_a_title():
    head = "<title>A Treatise on Coffee (1792) - The Review</title>"
    page = _page(head, "<h1>{{ $localize('cart.summary') }}</h1>")
    assert extract_html(page, url="https://review.example.org/coffee").title == "A Treatise on Coffee (1792)"


def test_a_heading_that_starts_with_the_brand_outside_the_banner_is_the_title():
    head = "<title>Amazon Best Sellers: Best Books</title>"
    page = _page(head, "<main><h1>Amazon Best Sellers</h1><h1>Best Sellers in Books</h1></main>")
    assert extract_html(page, url="https://www.amazon.com/Best-Sellers-Books/zgbs/books").title == "Amazon Best Sellers"


def test_a_heading_naming_the_site_inside_the_banner_is_a_logo():
    head = '<title>rustc_codegen_gcc: Progress Report #39</title><meta property="og:site_name" content="Antoyo">'
    page = _page(head, "<header><a href='/'><h1>Antoyo's Blog</h1></a></header>")
    assert extract_html(page, url="https://blog.antoyo.example/report-39").title == "rustc_codegen_gcc: Progress Report #39"


def test_an_articles_own_header_is_not_the_sites_banner():
    head = "<title>Welcome to LWN.net - LWN.net</title>"
    page = _page(head, "<article><header><h1>Welcome to LWN.net</h1></header></article>")
    assert extract_html(page, url="https://lwn.example.net/").title == "Welcome to LWN.net"


def test_a_site_wide_title_on_an_inner_page_gives_way_to_the_heading():
    head = "<title>Reddit - The heart of the internet</title>"
    page = _page(head, "<h1>Enameled Cast Iron Pan and Metal</h1>")
    url = "https://www.reddit.com/r/Cooking/comments/1rl0nt4/enameled_cast_iron_pan_and_metal/"
    assert extract_html(page, url=url).title == "Enameled Cast Iron Pan and Metal"


def test_on_the_home_page_a_site_first_title_is_kept():
    head = "<title>Render | The cloud for builders</title>"
    page = _page(head, "<h1>Deploy anything, fast</h1>")
    assert extract_html(page, url="https://render.com/").title == "The cloud for builders"


def test_a_title_cut_inside_a_word_is_completed_by_the_heading():
    head = "<title>Ergonomic desk step by step: how to set up your monitor, laptop, and k | Oakywood</title>"
    full = "Ergonomic desk step by step: how to set up your monitor, laptop, and keyboard (checklist)"
    page = _page(head, f"<h1>{full}</h1>")
    assert extract_html(page, url="https://oakywood.example/blogs/ergonomic-desk").title == full


def test_a_heading_that_only_adds_words_after_a_whole_title_does_not_replace_it():
    head = "<title>Identity Theft Protection | Aura</title>"
    page = _page(head, "<h1>Identity Theft Protection + $5 Million in Insurance *</h1>")
    assert extract_html(page, url="https://aura.example/identity-theft-protection").title == "Identity Theft Protection"


def test_titles_cut_with_an_ellipsis_give_way_to_the_heading():
    head = (
        '<meta property="og:title" content="Wedding Checklist Wedding Planning Checklists Wedding Timeline…">'
        "<title>Wedding Checklist Wedding Planning Checklists Wedding Timeline…</title>"
    )
    page = _page(head, "<h1>Wedding Checklist :: Printable To-do Timeline</h1>")
    assert extract_html(page, url="https://weddings.example/checklist").title == "Wedding Checklist :: Printable To-do Timeline"


def test_a_title_cut_with_an_ellipsis_is_used_when_nothing_else_is_there():
    head = "<title>What do you guys think will be the trend in the watch...</title>"
    assert extract_html(_page(head), url="https://forum.example/t/123").title == (
        "What do you guys think will be the trend in the watch..."
    )


def test_a_malformed_url_does_not_break_title_choice():
    head = "<title>Reddit - The heart of the internet</title>"
    page = _page(head, "<h1>Enameled Cast Iron Pan and Metal</h1>")
    assert extract_html(page, url="http://[::1/r/x").title
