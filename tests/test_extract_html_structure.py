"""HTML extraction: page structures that defeat a single best container, and nesting deep enough to be an attack.

* An article cut into many sibling sections (page builders, "top ten" pages) is extracted whole.
* A short box with a flattering class ("post-meta", "content-description") does not outrank the article.
* An ``<aside>`` misused as the page's layout wrapper is not stripped as furniture.
* Block elements nested far deeper than any real page (``MAX_NESTING_DEPTH``) are flattened before parsing, so
  such a page extracts in linear time instead of quadratic (100,000 nested ``<div>``s used to take minutes).
"""

from __future__ import annotations

import time

import pytest

from newsloom.extract.html import (
    MAX_NESTING_DEPTH,
    _deepest_nesting,
    _flatten_deep_nesting,
    extract_html,
)

SECTION_TEXTS = [
    "The first tool on our list is a sturdy hammer, which we tested for balance, grip and weight over a month of use.",
    "Our second pick, a cordless drill, impressed with its battery life, its clutch settings and its light body.",
    "Third comes a tape measure that locks firmly, reads clearly in low light, and survived several drops onto tiles.",
    "The fourth, a utility knife, has a blade that changes without tools, a solid lock, and a comfortable handle.",
    "Fifth is a spirit level, accurate to a millimetre over a metre, with vials that are easy to read from an angle.",
    "Finally, a set of screwdrivers with magnetic tips, hardened shafts, and handles that do not slip in oily hands.",
]


def _split_article_page() -> str:
    """Each paragraph in its own builder section, several wrappers deep; one short box with a positive class."""
    sections = "".join(
        f'<section class="builder-section"><div class="builder-container"><div class="builder-column">'
        f'<div class="builder-element"><div class="text-editor"><p>{text}</p></div></div></div></div></section>'
        for text in SECTION_TEXTS
    )
    return f"""<html><head><title>Best tools of the year</title></head><body>
    <div class="site"><div class="post-header"><div class="post-meta content-info">
    <div>Published December 13, 2025, in Tools</div><div>By the reviews team, with tests at home</div></div></div>
    <div class="builder-page">{sections}</div>
    <div class="site-footer-links"><a href="/a">About us</a> <a href="/b">Contact</a> <a href="/c">Jobs</a></div>
    </div></body></html>"""


def test_an_article_cut_into_many_sections_is_extracted_whole():
    article = extract_html(_split_article_page())
    assert all(text in article.paragraphs for text in SECTION_TEXTS)
    assert not any("About us" in paragraph for paragraph in article.paragraphs)


def test_a_short_box_with_a_content_class_does_not_outrank_the_article():
    article = extract_html(_split_article_page())
    assert SECTION_TEXTS[0] in article.paragraphs
    assert article.paragraphs != ["Published December 13, 2025, in Tools", "By the reviews team, with tests at home"]


def test_an_aside_that_holds_the_page_is_not_stripped():
    paragraphs = "".join(f"<p>{text}</p>" for text in SECTION_TEXTS * 2)  # over 1,000 characters
    html = f"<html><body><aside class='layout'><h1>Tools</h1><div class='post'>{paragraphs}</div></aside></body></html>"
    article = extract_html(html)
    assert SECTION_TEXTS[0] in article.paragraphs and SECTION_TEXTS[-1] in article.paragraphs


def test_a_real_sidebar_aside_is_still_stripped():
    paragraphs = "".join(f"<p>{text}</p>" for text in SECTION_TEXTS)
    html = (
        f"<html><body><article>{paragraphs}</article>"
        "<aside><p>Our sponsors, partners and friends keep this site free for everyone to read.</p></aside></body></html>"
    )
    article = extract_html(html)
    assert not any("sponsors" in paragraph for paragraph in article.paragraphs)


def test_a_small_page_is_not_scanned_and_parses_fast_even_fully_nested():
    html = "<div>" * 4000 + "<p>The council approved the plan on Tuesday after a long debate.</p>"
    assert _flatten_deep_nesting(html) is html  # 4,000 tags: under the scanning threshold
    start = time.perf_counter()
    extract_html(html)
    # Not a speed test (bench/ has those): a bound far above the ~0.1 s measured, far below the quadratic case.
    assert time.perf_counter() - start < 5.0


def test_nesting_depth_is_estimated_from_block_tags():
    assert _deepest_nesting("<div><section><p>a</p></section><div></div></div>") == 2
    assert _deepest_nesting("<DIV>" * 7 + "</div>" * 7) == 7
    assert _deepest_nesting("<span>" * 50 + "<p>" * 50) == 0  # inline and self-closing tags do not deepen the stack
    assert _deepest_nesting("<divider><tablet>") == 0  # names that only start like block tags


def test_pages_within_the_depth_limit_are_left_as_they_are():
    html = _split_article_page()
    assert _flatten_deep_nesting(html) is html
    nested = "<div>" * MAX_NESTING_DEPTH + "text" + "</div>" * MAX_NESTING_DEPTH
    assert _flatten_deep_nesting(nested) is nested


def test_nesting_beyond_the_limit_is_flattened_keeping_the_text():
    depth = MAX_NESTING_DEPTH * 6  # over the tag count below which pages are not scanned
    nested = "<div class='x'>" * depth + "deep text" + "</div>" * depth + "<p>after</p>"
    flattened = _flatten_deep_nesting(nested)
    assert _deepest_nesting(flattened) == MAX_NESTING_DEPTH
    assert flattened.count("<div class='x'>") == MAX_NESTING_DEPTH
    assert flattened.count("</div>") == MAX_NESTING_DEPTH
    assert "deep text" in flattened and flattened.endswith("<p>after</p>")


@pytest.mark.reliability
@pytest.mark.parametrize(
    "opening, closing",  # 100,000 nested elements each
    [("<div>", "</div>"), ("<SECTION class=a>", ""), ("<article><div>", "</div></article>")],
    ids=["div", "unclosed-section", "article-div"],
)
def test_hostile_nesting_extracts_in_linear_time(opening: str, closing: str):
    depth = 100_000 // opening.count("<")
    text = "The council approved the plan on Tuesday, after a long debate that lasted most of the night."
    html = "<html><head><title>Deep</title></head><body>" + opening * depth + f"<p>{text}</p>" + closing * depth
    start = time.perf_counter()
    article = extract_html(html)
    elapsed = time.perf_counter() - start
    assert text in article.paragraphs
    # ~0.3 s measured; unflattened this took minutes. The bound leaves room for a loaded CI machine.
    assert elapsed < 10.0, f"{depth:,} x {opening} took {elapsed:.2f} s"
