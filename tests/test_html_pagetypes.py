"""HTML extraction on product and discussion pages: rules that follow what the page declares about itself.

* A product page (schema.org Product in JSON-LD or microdata, og:type product) loses its customer reviews and
  ratings (other people's words about the product), and a block rendered twice (mobile and desktop copies)
  counts once; a review *article* that names a product keeps its review.
* A discussion page (DiscussionForumPosting, Comment) keeps posts whose class says "comment", and the whole
  thread of same-template posts when the densest one alone would be chosen; a Q&A page (QAPage) keeps the
  comments under its answers out.
* Member cards ("Joined", "Posts: 98", a bare label and its value) and bare counters are not content.
* A ``<noscript>`` fallback holding the page is opened even when inline scripts make up most of the characters;
  several small fallbacks (widgets' images and cards) are not.
"""

from __future__ import annotations

import json

from selectolax.lexbor import LexborHTMLParser

from newsloom.extract.html import (
    _thread_of_posts,
    _without_post_furniture,
    extract_html,
)

DESCRIPTION = (
    "A wheel-thrown stoneware mug with a matte speckled glaze, a clear glazed interior, and a handle shaped to sit "
    "comfortably in the hand. Each one is made by hand in our studio, so size and colour vary a little."
)
REVIEW = "Bought two of these for my parents and they love them, arrived quickly and well packed, five stars from us."


def _product_page(json_ld_type: str = "Product", og_type: str = "product", twice: bool = False) -> str:
    data = json.dumps({"@context": "https://schema.org", "@type": json_ld_type, "name": "Speckle mug"})
    reviews = "".join(
        f'<div class="review-item"><p class="review-text">{REVIEW} Review number {i}.</p><span>Jane, Ohio</span></div>'
        for i in range(4)
    )
    details = f'<div class="product-description"><p>{DESCRIPTION}</p><p>Size: approx. 9.5 x 13 cm, volume 350 ml.</p></div>'
    copies = details + (f'<div class="mobile-copy">{details}</div>' if twice else "")
    return f"""<html><head><title>Speckle mug</title><meta property="og:type" content="{og_type}">
    <script type="application/ld+json">{data}</script></head><body>
    <div class="page"><div class="product-main"><h1>Speckle mug</h1><p class="price">$60.00</p>{copies}</div>
    <section id="customer-reviews"><h2>Customer reviews</h2><div class="reviews-list">{reviews}</div></section>
    </div></body></html>"""


def test_product_page_drops_customer_reviews_and_keeps_the_description() -> None:
    article = extract_html(_product_page())
    body = "\n".join(article.paragraphs)
    assert DESCRIPTION in body
    assert "love them" not in body
    assert "Customer reviews" not in body


def test_page_without_product_evidence_keeps_its_review_blocks() -> None:
    body = "\n".join(extract_html(_product_page(json_ld_type="WebPage", og_type="website")).paragraphs)
    assert "love them" in body  # no product declared: the rule does not fire


def test_review_article_about_a_product_is_not_cut() -> None:
    body = "\n".join(extract_html(_product_page(json_ld_type="Article", og_type="article")).paragraphs)
    assert "love them" in body


def test_product_block_rendered_twice_counts_once() -> None:
    paragraphs = extract_html(_product_page(twice=True)).paragraphs
    assert sum(p == DESCRIPTION for p in paragraphs) == 1


POSTS = [
    "I am planning a first aquarium for the kids and wonder which fish are hardy enough for a beginner's tank.",
    "Start with a cycled tank and a few zebra danios; they forgive the mistakes everyone makes in the first months.",
    "Agree with the danios. Also buy a test kit and check ammonia weekly until the readings stay at zero for a while.",
    "Platies did well for us too, and the kids loved watching the fry. Keep the tank out of direct sunlight though.",
]


OPENING_DETAIL = "The tank is 60 litres, filtered, heated, planted, lit, and it has been running, empty, for a month."


USER_CARD = "Keeps tropical fish and shrimp since 2009, moderates the planted tanks board, lives near Leeds."


def _thread_page(comment_class: str = "comment") -> str:
    """A thread declared as an article and a forum posting (as forum software does), the opening post long, the
    replies short, each post from one template."""
    data = json.dumps({"@context": "https://schema.org", "@type": "DiscussionForumPosting", "headline": "First aquarium"})
    opening = "".join(f"<p>{POSTS[0]} {OPENING_DETAIL}</p>" for _ in range(6))
    posts = "".join(
        f'<div class="{comment_class}-item post"><div class="user-card"><span>User {i}</span><span>{USER_CARD}</span></div>'
        f'<div class="{comment_class}-body">{text}</div></div>'
        for i, text in enumerate([opening, *(f"<p>{reply}</p>" for reply in POSTS[1:])])
    )
    return f"""<html><head><title>First aquarium</title><meta property="og:type" content="article">
    <meta name="author" content="Marn"><meta property="article:published_time" content="2024-05-02T10:00:00Z">
    <script type="application/ld+json">{data}</script></head>
    <body><div class="topic"><h1>First aquarium</h1><div class="posts">{posts}</div></div>
    <div class="site-links"><a href="/rules">Forum rules</a> <a href="/faq">FAQ</a></div></body></html>"""


THREAD_URL = "https://forum.example.org/threads/which-fish-for-a-first-aquarium"


def test_forum_thread_keeps_every_post_even_with_comment_classes() -> None:
    body = "\n".join(extract_html(_thread_page(), url=THREAD_URL).paragraphs)
    for text in POSTS:
        assert text in body


def test_article_comments_stay_out() -> None:
    data = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Aquariums"})
    story = " ".join(POSTS[:2])
    comments = "".join(f'<div class="comment"><p>{text}</p></div>' for text in POSTS[2:])
    page = f"""<html><head><title>Aquariums</title><script type="application/ld+json">{data}</script></head><body>
    <article><div class="article-body"><p>{story}</p><p>{story}</p></div></article>
    <div class="comments">{comments}</div></body></html>"""
    body = "\n".join(extract_html(page).paragraphs)
    assert POSTS[0] in body
    assert POSTS[2] not in body  # no discussion declared: comments under a story stay furniture


def test_question_page_keeps_comments_out() -> None:
    data = json.dumps({"@context": "https://schema.org", "@type": "QAPage"})
    answer = " ".join(POSTS[1:3])
    page = f"""<html><head><title>Q</title><script type="application/ld+json">{data}</script></head><body>
    <div class="question"><p>{POSTS[0]} {POSTS[0]}</p></div>
    <div class="answer"><div class="answer-body"><p>{answer}</p></div>
    <div class="comments"><p class="comment-copy">{POSTS[3]}</p></div></div></body></html>"""
    body = "\n".join(extract_html(page).paragraphs)
    assert POSTS[1] in body
    assert POSTS[3] not in body


def test_member_cards_and_counters_are_dropped() -> None:
    lines = ["Marn", "Joined", "Feb 8, 2023", "Posts: 1,077", "Registered: 2024-01-27", "Reaction score", "10",
             "14.6k20 gold badges83 silver badges", "Posts are moderated before they appear, so please be patient."]
    kept = _without_post_furniture(lines)
    assert kept == ["Marn", "Posts are moderated before they appear, so please be patient."]
    assert "10" in _without_post_furniture(["10"], counters=False)


def test_noscript_fallback_is_opened_when_scripts_dwarf_the_page() -> None:
    app_state = "<script>window.__STATE__ = " + json.dumps({"blob": "x" * 50_000}) + "</script>"
    posts = "".join(f"<article><p>{text}</p></article>" for text in POSTS * 8)
    page = f"""<html><head><title>Thread</title></head><body>{app_state}<div id="app"></div>
    <noscript id="content"><div class="container"><h1>Thread</h1>{posts}</div></noscript></body></html>"""
    body = "\n".join(extract_html(page).paragraphs)
    assert POSTS[0] in body and POSTS[3] in body


def test_several_small_noscript_fallbacks_stay_closed() -> None:
    app_state = "<script>window.__STATE__ = " + json.dumps({"blob": "x" * 50_000}) + "</script>"
    cards = "".join(f"<noscript><p>{'Card text for a widget without scripts. ' * 60}</p></noscript>" for _ in range(3))
    article = " ".join(POSTS)
    page = f"""<html><head><title>Shop</title></head><body>{app_state}<main><p>{article}</p>
    <p>{article}</p></main>{cards}</body></html>"""
    body = "\n".join(extract_html(page).paragraphs)
    assert POSTS[0] in body
    assert "Card text for a widget" not in body


def test_thread_of_posts_is_the_list_around_the_chosen_post() -> None:
    tree = LexborHTMLParser(_thread_page(comment_class="message"))
    first_body = tree.css_first("div.message-body")
    posts = tree.css_first("div.posts")
    thread = _thread_of_posts(first_body, first_body)
    assert thread is not None and thread.mem_id == posts.mem_id
    assert _thread_of_posts(first_body, posts) is None  # the chosen container already holds the thread
    lone = LexborHTMLParser("<html><body><div class='a'><div class='b'><p>One post only.</p></div></div></body></html>")
    paragraph_box = lone.css_first("div.b")
    assert _thread_of_posts(paragraph_box, paragraph_box) is None
