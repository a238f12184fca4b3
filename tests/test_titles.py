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


def test_a_reworded_visible_headline_beats_the_search_title():
    head = "<title>Debunking Common Food Myths - Scripps Health</title>"
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
    head = "<title>Tutorial - User Guide - FastAPI</title>"
    title = extract_html(_page(head, f"<h1>{heading}</h1>"), url="https://fastapi.example.com/tutorial/").title
    assert title in ("Tutorial - User Guide", "Tutorial & User Guide")
    assert "\u00b6" not in title and "\u200b" not in title


def test_template_placeholders_are_never_a_title():
    head = "<title>A Treatise on Coffee (1792) - The Review</title>"
    page = _page(head, "<h1>{{ $localize('cart.summary') }}</h1>")
    assert extract_html(page, url="https://review.example.org/coffee").title == "A Treatise on Coffee (1792)"
