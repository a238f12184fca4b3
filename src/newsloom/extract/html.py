"""Main-content extraction from HTML pages: one parse, one scoring pass, one cleaning walk.

    bytes ─decode─► text ─lexbor─► tree ─┬─ metadata (head, JSON-LD)     metadata.py
                                         ├─ publication date              dates.py
                                         ├─ teasers (related blocks)
                                         └─ strip junk ─► score blocks ─► best container (+ siblings)
                                                                          ─► walk it into paragraphs

Scoring: every paragraph-like node (``p``, ``pre``, ``td``, text-bearing ``div``) adds a score from its length
and punctuation to its parent, grandparent and great-grandparent; containers are weighted by class/id hints
and discounted by link density; a class's or tag's bonus counts in full only for containers with paragraphs of
their own. An article cut into many sibling sections is taken from their common wrapper. The walk over the chosen
container skips hidden and boilerplate subtrees (share bars, related links, ads) and drops link-dense or
boilerplate-only lines.

What a page declares about itself (schema.org JSON-LD or microdata, Open Graph) adapts the cleaning: a product
page loses its customer reviews and ratings and any block rendered twice; a discussion page (forum posts,
comments) reads "comment" containers as content and takes the whole list of same-template posts around the
densest one, while a Q&A page keeps its comment threads out; member cards ("Joined", "Posts: 98") and bare
counters are dropped from discussions and products.

Hostile nesting: block elements nested deeper than ``MAX_NESTING_DEPTH`` are flattened by a linear pre-scan
before parsing, since the tree builder's cost grows with the square of the depth; tables and blockquotes, whose
whole text is read once per nesting level when blocks are scored, are flattened beyond ``MAX_TEXT_BLOCK_NESTING``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..errors import ExtractionError, InputTooLargeError
from ..model import Article, Teaser, article_id_for
from .dates import find_publication_date
from .decode import decode_bytes
from .metadata import PageMetadata, absolute_url, read_metadata

__all__ = ["MAX_INPUT_BYTES", "MAX_NESTING_DEPTH", "MAX_TEXT_BLOCK_NESTING", "extract_html", "extract_paragraphs"]

MAX_INPUT_BYTES = 20 * 1024 * 1024
# Block elements nested deeper than this are flattened before parsing: the HTML tree builder checks the
# whole stack of open elements at each block start tag, so parse time grows with the square of the depth
# (40,000 nested <div>s took 5 s). Real pages stay under 200 levels.
MAX_NESTING_DEPTH = 512
# Start and end tags of the elements whose start tag makes the parser scan the open-element stack (the
# HTML standard's "close a p element" rule), written as a trie because this runs on every page.
_STACK_SCANNING_TAG = re.compile(
    r"<(/?)(?:d(?:iv|l|etails|ialog|ir)|s(?:ection|ummary|earch)|a(?:rticle|side|ddress)|[uo]l|h(?:[1-6]|eader|group)|"
    r"nav|f(?:ooter|ieldset|ig(?:caption|ure)|orm)|m(?:ain|enu)|center|blockquote|pre|listing|table)(?=[\s/>])",
    re.IGNORECASE,
)
_STACK_SCANNING_TAG_WHOLE = re.compile(_STACK_SCANNING_TAG.pattern + r"[^>]*>?", re.IGNORECASE)
_DEPTH_STEP = {"": 1, "/": -1}
# Tables and blockquotes nested deeper than this are flattened too: each cell or quote is scored with its whole
# text, so a chain of N nested ones reads the innermost text N times (512 nested tables over 300 kB of text
# took 20 s). Real pages nest them at most about 10 deep.
MAX_TEXT_BLOCK_NESTING = 32
_TEXT_BLOCK_TAG = re.compile(r"<(/?)(?:table|blockquote)(?=[\s/>])", re.IGNORECASE)
# A page with at most this many tags is not scanned (the scan costs more than parsing it): even nested
# all the way down, it parses in a tenth of a second.
_UNSCANNED_TAGS = 4096

# Removed before scoring: never article text.
_JUNK_TAGS = [
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas", "button",
    "select", "input", "textarea", "nav", "aside", "footer", "link", "meta", "dialog", "head",
]
# Elements that start a new paragraph in the output.
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dd",
        "dt", "pre", "blockquote", "tr", "table", "thead", "tbody", "figure", "figcaption", "header", "address",
        "center", "form", "fieldset", "hr", "caption", "details", "summary",
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SKIP_IN_BODY = frozenset({"figure", "figcaption", "header", "form", "fieldset", "label", "-comment", "summary", "h1"})
# On a page of many sections (services, listings, shops) a figure's caption is often the section's own text.
_SKIP_IN_WHOLE_PAGE = _SKIP_IN_BODY - {"figure", "figcaption"}
_TAG_BASE_SCORE = {
    "div": 5, "article": 8, "section": 3, "main": 3, "pre": 3, "td": 3, "blockquote": 3,
    "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
    "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5,
}

_POSITIVE_HINT = re.compile(
    r"article|body|content|entry|h-?entry|main|page|post|text|blog|story|prose|rich-?text", re.IGNORECASE
)
_NEGATIVE_WORDS = (
    r"combx|contact|foot|masthead|media|outbrain|taboola|promo|related|scroll|share|shoutbox|sidebar|"
    r"skyscraper|sponsor|shopping|tags|tool|widget|social|newsletter|subscri|recommend|popular|trending|teaser|"
    r"breadcrumb|menu|nav|banner|cookie|consent|modal|popup|signup|disclaimer|(?:^|[\s_-])ads?(?:$|[\s_-])"
)
_NEGATIVE_HINT = re.compile(r"comment|" + _NEGATIVE_WORDS, re.IGNORECASE)
# On a discussion page the comments are the content: "comment" says nothing against a container there.
_NEGATIVE_HINT_IN_DISCUSSION = re.compile(_NEGATIVE_WORDS, re.IGNORECASE)
_DISCUSSION_NEUTRAL_WORDS = frozenset({"comment"})
# Subtrees skipped inside the chosen container: page furniture that sits between article paragraphs.
_BOILERPLATE_HINT = re.compile(
    # Distinctive stems match anywhere in a class or id ("sharebar", "js-social-links")...
    r"share|sharing|social|related|recommend|newsletter|subscri|promo|advert|sponsor|outbrain|taboola|comment|"
    r"sidebar|breadcrumb|byline|caption|toolbar|tool-bar|popup|modal|cookie|consent|signup|sign-up|widget|"
    r"more-?stories|read-?more|readmore|also-?read|trending|popular|visually-?hidden|sr-only|screen-?reader|"
    r"dateline|timestamp|article-?meta|post-?meta|entry-?meta|tooltip|popover|rollover|hover-?card|"
    # ...short or common words only as a whole part of one ("ad-slot", "meta", but not "head", "metadata").
    r"(?:^|[\s_-])(?:ad|ads|adv|dfp|gpt|meta|date|time|nav|menu|header|footer|inline-?ad|ad-?slot|ad-?unit|"
    r"author|authors|credit|credits|tags|keywords|print|published)(?:$|[\s_-])|"
    # ...and "hidden" only as a whole class ("field--label-hidden" hides a label, not the field).
    r"(?:^|\s)(?:hidden|hide|d-none|is-hidden|invisible)(?:$|\s)",
    re.IGNORECASE,
)
# A container whose class says it is the article body is never skipped for a weaker negative word in it.
_BODY_HINT = re.compile(
    r"(?:article|story|entry|post|main|body)[-_]?(?:body|content|text)|articlebody|storybody|post-?body|"
    r"rich-?text|prose|article__body|paywall-?content|"
    # Embedded posts quoted by the article are part of it (publishers' benchmarks count them in).
    r"twitter-tweet|social-?(?:media-?)?embed|embed-?(?:social|tweet|twitter)|instagram-media",
    re.IGNORECASE,
)
_BOILERPLATE_LINE = re.compile(
    r"^(?:advertisement|advert|adverts|ad|anzeige|werbung|publicité|publicidad|pubblicità|sponsored|sponsored content|continue reading|"
    r"read more|read next|related|related articles|related stories|share|share this|share this article|"
    r"share on \w+|tweet|email|print|comments?|subscribe|sign up|follow us|loading|close|next|previous|"
    r"advertisement - scroll to continue|story continues below|article continues below|click here|"
    r"this content is not available|supported by|image|photo|video|getty images|ap photo|you may also like|"
    r"you might also like|recommended|more from \w+|loading(?: content)?|tell us what you think|"
    r"this slideshow requires javascript|skip advert|scroll to continue with content|highlights|"
    r"(?:\d+ )?comments?|leave a comment|add a comment|show comments|view comments|"
    # Shop controls: buttons and stock labels, never a product's description.
    r"add to (?:cart|bag|basket|wishlist|wish list)|buy now|buy it now|in stock|out of stock|sold out|quantity|"
    r"qty|add to compare|write a review|notify me)[\s.:!…]*$",
    re.IGNORECASE,
)
_SPACE = re.compile(r"[\s\u00a0\u200b\u2009\u202f\u3000]+")
_NON_WORD = re.compile(r"[\W_]+")
_MIN_SLUG_HYPHENS = 2  # an id of three words or more can be a heading's slug; shorter ones are class-like names
_LINE_BREAK = "\x00"  # stands for <br> while text is assembled (input NULs are removed): source newlines are spaces
_MIN_PARAGRAPH_CHARS = 25
_CANDIDATES_TO_CHECK = 6
_SPLIT_POOL = 15  # candidates looked at for an article split over many sections (the best 6 and 9 more)
_SPLIT_MEMBER_SHARE = 0.3
_SPLIT_TOTAL_SHARE = 2.0
_MAX_SPLIT_CLIMB = 5
_FULL_PRIOR_CONTENT = 15.0  # paragraph score from which a container's tag and class prior count in full
_MIN_RIVALS = 3
_CHUNK_SCORE_SHARE = 0.25
_WRAPPER_GROWTH = 1.1
_MAX_WRAPPER_CLIMB = 8  # each step reads the parent's whole text: bounded so deep nesting stays linear
_SIBLING_TAGS = frozenset({"p", "div", "section", "article", "blockquote", "ul", "ol", "h2", "h3", "h4", "pre", "table", "span"})
_SIBLING_SCORE_SHARE = 0.2
_MAX_TEASERS = 20
_BEST_TEXT_KEY = -1  # in the candidates map: the densest text container, before merging rivals
# A <noscript> this long is the page's content for readers without JavaScript (forum software, app shells).
_NOSCRIPT_CONTENT_CHARS = 2000
_MIN_SIBLING_POSTS = 2  # a post with this many siblings of its tag and class is one of a thread's posts
_MAX_POST_CLIMB = 12
_MAIN_REGION_SHARE = 0.3
_LANDMARK_TAGS = "aside, nav, footer"
_LANDMARK_PAGE_SHARE = 0.9
_MIN_PAGE_CHARS = 1000  # a landmark with less text than this is furniture whatever the page holds
# Below this share of the main region's text, the best container of a non-article page is one section of many.
_SINGLE_CONTAINER_SHARE = 0.75
_MIN_CARD_CHARS = 25
_MIN_REPEAT_CHARS = 25  # on a product page, a repeated paragraph at least this long is dropped
_MIN_TITLE_LINK_CHARS = 25  # a link this long, most of its block's links, reads as a listed item's title
_TITLE_LINK_SHARE = 0.5
# Product pages (schema.org Product in JSON-LD or microdata, or og:type product): customer reviews, ratings and
# Q&A widgets are other people's words about the product, not the page's content (WCXB's product ground truth
# leaves them out on nearly every page), so their subtrees are removed before scoring.
_PRODUCT_SCHEMA_TYPES = frozenset({"product", "productgroup", "productmodel", "individualproduct", "vehicle", "car"})
_PRODUCT_OG_TYPES = frozenset({"product", "og:product", "product.item", "product.group"})
_STORY_SCHEMA_TYPES = frozenset({"article", "newsarticle", "blogposting", "reportagenewsarticle", "techarticle"})
_PRODUCT_MICRODATA = '[itemtype*="schema.org/Product" i]'
_REVIEW_CANDIDATES = (
    '[class*="review" i], [id*="review" i], [itemprop="review" i], [itemprop="reviews" i], '
    '[itemtype*="schema.org/Review" i], [class*="rating" i], [id*="rating" i]'
)
# "review" and "rating" as class words, not inside "preview" or "operating".
_REVIEW_HINT = re.compile(r"(?<![pP])[rR]eview|(?<![a-zA-Z])[rR]ating|[a-z]Rating")
# Discussion pages (schema.org DiscussionForumPosting, QAPage, Question/Answer/Comment in JSON-LD or microdata):
# the posts are the content; the furniture around each post is its author's member card ("Joined", "Posts: 98",
# "Reaction score") and bare counters (votes, likes, post numbers), never part of a post.
_DISCUSSION_SCHEMA_TYPES = frozenset({"discussionforumposting", "qapage", "question", "answer", "comment"})
_DISCUSSION_MICRODATA = ", ".join(
    f'[itemtype*="schema.org/{kind}" i]' for kind in ("DiscussionForumPosting", "QAPage", "Question", "Answer", "Comment")
)
_MEMBER_CARD_LABEL = (
    r"(?:joined|join date|member since|registered|messages|posts|reaction score|points|likes(?: received)?|"
    r"reputation|karma|location|trophies|solutions|threads|credits|offline|online)"
)
_MEMBER_CARD_VALUE = r"(?:[\d.,]+\s*[km]?|\d{4}-\d\d-\d\d|[a-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [a-z]{3,9}\.? \d{4})"
_MEMBER_CARD_LINE = re.compile(rf"^{_MEMBER_CARD_LABEL}\s*:?\s*{_MEMBER_CARD_VALUE}?$", re.IGNORECASE)
_MEMBER_CARD_BARE_LABEL = re.compile(rf"^{_MEMBER_CARD_LABEL}\s*:?$", re.IGNORECASE)
_MAX_CARD_VALUE_CHARS = 30  # the line after a bare label ("Location", "Joined") is its value when this short
# A bare count ("12", "4.5k") or a reputation line of counts and badges ("14.6k20 gold badges83 silver badges").
_BARE_COUNT_LINE = re.compile(r"^[\d.,]+\s*[km]?(?:\s*[\d.,]+\s*\w+ badges?)*$", re.IGNORECASE)
# Questions and answers (QAPage) keep their comments out: only threads of posts are read with their comments.
_QUESTION_SCHEMA_TYPES = frozenset({"qapage", "question", "answer"})
_QUESTION_MICRODATA = ", ".join(f'[itemtype*="schema.org/{kind}" i]' for kind in ("QAPage", "Question", "Answer"))
_RELATED_SELECTOR = ", ".join(
    f'[{attribute}*="{word}"]'
    for attribute in ("class", "id")
    for word in ("related", "recommend")
)


@dataclass(slots=True, eq=False)
class _Candidate:
    node: LexborNode
    score: float  # the tag's and class names' prior while scoring; the final score after it
    content: float = 0.0  # what the paragraphs below added


def _hint_text(node: LexborNode) -> str:
    attributes = node.attributes
    return f"{attributes.get('class') or ''} {attributes.get('id') or ''}"


def _class_weight(node: LexborNode, discussion: bool = False) -> int:
    hint = _hint_text(node)
    if len(hint) < 2:
        return 0
    return _hint_weight(hint, discussion)


@lru_cache(maxsize=4096)
def _hint_weight(hint: str, discussion: bool = False) -> int:
    """Cached: class names repeat within a page and across pages of one site."""
    weight = 0
    if (_NEGATIVE_HINT_IN_DISCUSSION if discussion else _NEGATIVE_HINT).search(hint):
        weight -= 25
    if _POSITIVE_HINT.search(hint):
        weight += 25
    return weight


_LEAF_BLOCKS = "p, div, section, article, table, ul, ol, dl, pre, blockquote, h1, h2, h3, h4, h5, h6, header, form"


def _paragraph_nodes(body: LexborNode) -> Iterable[tuple[LexborNode, str]]:
    """Nodes that hold running text, with their text: ``p``/``pre``/``td``, divs without block children
    (text in spans, or split by ``<br>``), and the text a div holds directly between its block children."""
    for node in body.css("p, pre, td, blockquote"):
        yield node, node.text()
    # A container is a leaf when no block element sits below it. Marking the ancestors of every block once
    # is linear in the tree size, where a ":has()" selector is quadratic on pathologically deep nesting.
    has_block_below: set[int] = set()
    for block in body.css(_LEAF_BLOCKS):
        parent = block.parent
        while parent is not None and parent.mem_id not in has_block_below:
            has_block_below.add(parent.mem_id)
            parent = parent.parent
    for node in body.css("div, section, article"):
        if node.mem_id not in has_block_below:
            yield node, node.text()
            continue
        own = node.text(deep=False)
        if len(own) >= _MIN_PARAGRAPH_CHARS and len(own.strip()) >= _MIN_PARAGRAPH_CHARS:
            yield node, own


def _link_density(node: LexborNode, text_length: int) -> float:
    if text_length == 0:
        return 1.0
    link_chars = sum(len(a.text()) for a in node.css("a"))
    return min(1.0, link_chars / text_length)


def _score_candidates(body: LexborNode, discussion: bool = False) -> tuple[list[_Candidate], dict[int, _Candidate]]:
    candidates: dict[int, _Candidate] = {}
    for node, text in _paragraph_nodes(body):
        length = len(text.strip())
        if length < _MIN_PARAGRAPH_CHARS:
            continue
        score = 1 + text.count(",") + text.count("，") + text.count("、") + min(length // 100, 3)
        ancestor = node.parent
        for level in range(3):
            if ancestor is None or ancestor.tag in ("html", "-document"):
                break
            key = ancestor.mem_id
            candidate = candidates.get(key)
            if candidate is None:
                base = _TAG_BASE_SCORE.get(ancestor.tag, 0)
                candidate = _Candidate(ancestor, base + _class_weight(ancestor, discussion))
                candidates[key] = candidate
            candidate.content += score / (1, 2, 6)[level]
            ancestor = ancestor.parent
    for candidate in candidates.values():
        candidate.score = _weighted_score(candidate.score, candidate.content)
    ordered = sorted(candidates.values(), key=lambda c: c.score, reverse=True)
    ranked = ordered[:_CANDIDATES_TO_CHECK]
    for candidate in ranked:
        candidate.score *= 1 - _link_density(candidate.node, len(candidate.node.text()))
    ranked.sort(key=lambda c: c.score, reverse=True)
    if ranked:
        best_text = ranked[0].node
        merged = _common_ancestor_of_rivals(ranked, candidates)
        if merged is ranked[0]:
            merged = _ancestor_of_split_content(ranked[0], ranked, ordered[_CANDIDATES_TO_CHECK:_SPLIT_POOL], candidates)
        ranked[0] = merged
        candidates[_BEST_TEXT_KEY] = _Candidate(best_text, ranked[0].score)
    return ranked, candidates


def _ancestor_of_split_content(
    top: _Candidate, ranked: list[_Candidate], more: list[_Candidate], candidates: dict[int, _Candidate]
) -> _Candidate:
    """The article when it is cut into many sections of one wrapper (page builders, "top ten" pages): the
    lowest close ancestor of the best candidate whose child subtrees hold several good candidates that
    together score well over the best one alone. ``ranked`` scores are discounted by link density already;
    ``more`` (the next few) are discounted here, only when they sit near the best candidate (it costs)."""
    floor = _SPLIT_MEMBER_SHARE * top.score
    near: set[int] = set()
    ancestor = top.node.parent
    for _ in range(_MAX_SPLIT_CLIMB):
        if ancestor is None:
            break
        near.add(ancestor.mem_id)
        ancestor = ancestor.parent
    paths: list[tuple[list[int], float]] = []  # each good candidate's ancestor ids, from itself upward
    for position, candidate in enumerate((*ranked, *more)):
        if candidate.score < floor:
            continue
        ids = [candidate.node.mem_id]
        parent = candidate.node.parent
        while parent is not None and len(ids) <= _MAX_SPLIT_CLIMB + 30:
            ids.append(parent.mem_id)
            parent = parent.parent
        if near.isdisjoint(ids):
            continue
        score = candidate.score
        if position >= len(ranked):
            score *= 1 - _link_density(candidate.node, len(candidate.node.text()))
            if score < floor:
                continue
        paths.append((ids, score))
    ancestor = top.node.parent
    for _ in range(_MAX_SPLIT_CLIMB):
        if ancestor is None or ancestor.tag in ("body", "html", "-document"):
            break
        key = ancestor.mem_id
        groups: dict[int, float] = {}
        for ids, score in paths:
            if key in ids:
                position = ids.index(key)
                if position > 0:
                    child = ids[position - 1]
                    groups[child] = max(groups.get(child, 0.0), score)
        if len(groups) >= _MIN_RIVALS and sum(groups.values()) >= _SPLIT_TOTAL_SHARE * top.score:
            known = candidates.get(key)
            return _Candidate(ancestor, max(known.score if known else 0.0, top.score))
        ancestor = ancestor.parent
    return top


def _weighted_score(prior: float, content: float) -> float:
    """A positive prior (an ``article`` tag, a "content" class) counts in full only for a container with
    some paragraphs of its own: a short "post-meta" or "content-description" box must not outrank the body."""
    if prior > 0 and content < _FULL_PRIOR_CONTENT:
        prior *= content / _FULL_PRIOR_CONTENT
    return prior + content


def _ancestor_ids(node: LexborNode) -> set[int]:
    ids = set()
    parent = node.parent
    while parent is not None:
        ids.add(parent.mem_id)
        parent = parent.parent
    return ids


def _common_ancestor_of_rivals(ranked: list[_Candidate], candidates: dict[int, _Candidate]) -> _Candidate:
    """The article when it is split over several containers: the common ancestor of the best candidate and
    either a rival of the same kind (``div.article__body`` chunks between ad slots) or several near-equal
    rivals (a wrapper div per paragraph)."""
    top = ranked[0]
    top_class = top.node.attributes.get("class")
    top_ancestors = _ancestor_ids(top.node)
    chunks = []
    if top_class:
        for rival in ranked[1:]:
            if rival.score < _CHUNK_SCORE_SHARE * top.score or rival.node.tag != top.node.tag:
                continue
            if rival.node.attributes.get("class") != top_class or rival.node.mem_id in top_ancestors:
                continue
            ancestors = _ancestor_ids(rival.node)
            if top.node.mem_id not in ancestors:
                chunks.append(ancestors)
    if chunks:
        needed = len(chunks)
        rival_ancestors = chunks
    else:
        rival_ancestors = [_ancestor_ids(c.node) for c in ranked[1:] if c.score >= 0.75 * top.score]
        needed = _MIN_RIVALS
        if len(rival_ancestors) < needed:
            return top
    ancestor = top.node.parent
    while ancestor is not None and ancestor.tag not in ("body", "html"):
        key = ancestor.mem_id
        if sum(key in ids for ids in rival_ancestors) >= needed:
            known = candidates.get(key)
            return _Candidate(ancestor, max(known.score if known else 0.0, top.score))
        ancestor = ancestor.parent
    return top


def _climb_wrappers(node: LexborNode, neutral: frozenset[str] = frozenset()) -> LexborNode:
    """Climb wrappers that add (almost) no text, so that the article's intro, often kept in a sibling
    block of the main text ("lede" + "body"), is among the siblings considered next."""
    length = len(node.text())
    parent = node.parent
    for _ in range(_MAX_WRAPPER_CLIMB):
        if parent is None or parent.tag in ("body", "html", "-document"):
            break
        if len(parent.text()) > length * _WRAPPER_GROWTH + 20:
            break
        attributes = node.attributes
        if _is_hidden(attributes) or _is_boilerplate(attributes, neutral):
            break  # the walk from a higher root would skip this node, and the article with it
        node = parent
        parent = node.parent
    return node


def _is_paragraph_like(node: LexborNode) -> bool:
    return node.tag == "p" or (node.tag in ("div", "section", "span") and node.css_first(_LEAF_BLOCKS) is None)


def _content_nodes(
    top: _Candidate, candidates: dict[int, _Candidate], neutral: frozenset[str] = frozenset()
) -> list[LexborNode]:
    """The best container plus siblings that look like more of the same article."""
    main = _climb_wrappers(top.node, neutral)
    parent = main.parent
    if parent is None or parent.tag in ("html", "-document"):
        return [main]
    threshold = max(10.0, top.score * _SIBLING_SCORE_SHARE)
    main_class = (main.attributes.get("class") or "").strip()
    nodes = []
    for sibling in parent.iter():
        if sibling.mem_id == main.mem_id:
            nodes.append(sibling)
            continue
        if sibling.tag not in _SIBLING_TAGS:
            continue
        attributes = sibling.attributes
        if _is_hidden(attributes) or _is_boilerplate(attributes, neutral):
            continue
        text = sibling.text()
        length = len(text.strip())
        if length == 0:
            continue
        density = _link_density(sibling, length)
        known = candidates.get(sibling.mem_id)
        bonus = top.score * 0.2 if main_class and (attributes.get("class") or "").strip() == main_class else 0.0
        if known is not None and known.score * (1 - density) + bonus >= threshold:
            nodes.append(sibling)
        elif _is_paragraph_like(sibling):
            if length > 80 and density < 0.25:
                nodes.append(sibling)
            elif density == 0 and text.rstrip().endswith((".", "!", "?", "。", "”", '"', "»")):
                nodes.append(sibling)
    return nodes


def _is_hidden(attributes: dict[str, str | None]) -> bool:
    if "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    style = attributes.get("style")
    return bool(style) and ("display:none" in style.replace(" ", "") or "visibility:hidden" in style.replace(" ", ""))


def _is_boilerplate(attributes: dict[str, str | None], neutral: frozenset[str] = frozenset()) -> bool:
    hint = f"{attributes.get('class') or ''} {attributes.get('id') or ''} {attributes.get('role') or ''}"
    if len(hint) < 3:
        return False
    return _is_boilerplate_hint(hint, neutral)


@lru_cache(maxsize=8192)
def _is_boilerplate_hint(hint: str, neutral: frozenset[str] = frozenset()) -> bool:
    if not _BOILERPLATE_HINT.search(hint):
        return False
    if neutral and all(_hint_word(m) in neutral for m in _BOILERPLATE_HINT.finditer(hint)):
        return False
    return not _BODY_HINT.search(hint)


def _hint_word(match: re.Match[str]) -> str:
    return match.group(0).strip(" _-").lower()


def _neutral_hint_words(path: Iterable[LexborNode]) -> frozenset[str]:
    """Boilerplate words in the class names around the densest text: a site that names every block a
    "widget" (page builders) or its article body "content-meta" uses the word for content, so on that page
    it marks nothing."""
    words: set[str] = set()
    for node in path:
        attributes = node.attributes
        hint = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
        if len(hint) > 2:
            words.update(_hint_word(m) for m in _BOILERPLATE_HINT.finditer(hint))
    return frozenset(words)


class _Block:
    __slots__ = ("in_link", "link_chars", "longest_link", "tag", "text")

    def __init__(self, text: str, link_chars: int, tag: str, in_link: bool = False, longest_link: int = 0) -> None:
        self.text = text
        self.link_chars = link_chars
        self.longest_link = longest_link  # characters of the block's longest link: a listing item's title
        self.tag = tag
        self.in_link = in_link  # the whole block sits inside one link: a card (title, excerpt), not a menu item


_EXIT_BLOCK = 0
_EXIT_LINK = 1
_EXIT_CELL = 2


def _skipped_in_body(
    node: LexborNode, tag: str, root: LexborNode, neutral: frozenset[str], skip_tags: frozenset[str] = _SKIP_IN_BODY
) -> bool:
    """Figures, forms, hidden and boilerplate subtrees are left out of the body (the root itself never is)."""
    if tag in skip_tags:
        return True
    attributes = node.attributes
    if not attributes or node is root:
        return False
    if _is_hidden(attributes):
        return True
    if not _is_boilerplate(attributes, neutral):
        return False
    if attributes.get("id") and _id_is_own_heading_slug(node, attributes["id"] or ""):
        return _is_boilerplate({**attributes, "id": None}, neutral)
    return True


def _slug(text: str) -> str:
    return _NON_WORD.sub("-", text.lower()).strip("-")


def _id_is_own_heading_slug(node: LexborNode, node_id: str) -> bool:
    """Documentation generators name a section after its heading ("real-time-processing"): such an id is the
    heading's text, whose words ("time", "menu", "share") say nothing about the section being furniture."""
    slug = _slug(node_id)
    if slug.count("-") < _MIN_SLUG_HYPHENS:
        return False
    heading = node if node.tag in _HEADING_TAGS else node.css_first("h1, h2, h3, h4, h5, h6")
    return heading is not None and _slug(heading.text()) == slug


def _walk_blocks(
    root: LexborNode,
    protected: frozenset[int] = frozenset(),
    neutral: frozenset[str] = frozenset(),
    skip_tags: frozenset[str] = _SKIP_IN_BODY,
) -> list[_Block]:
    """Flatten a container into text blocks, one per block element, skipping hidden and boilerplate subtrees
    except the ``protected`` ones (the path down to the densest text: a site that calls every block a
    "widget" or wraps its article in a form must not lose it).

    Iterative on purpose: a page nested 10,000 levels deep must not exhaust the Python stack."""
    blocks: list[_Block] = []
    pieces: list[str] = []
    link_chars = 0
    link_depth = 0
    link_starts: list[int] = []  # link_chars where each open link began
    longest_link = 0
    block_tags: list[str] = [root.tag or "div"]
    link_depth_at_block: list[int] = [0]

    def flush() -> None:
        nonlocal link_chars, longest_link
        if pieces:
            text = _SPACE.sub(" ", "".join(pieces)).strip()
            pieces.clear()
            if text:
                blocks.append(_Block(text, link_chars, block_tags[-1], link_depth_at_block[-1] > 0, longest_link))
        link_chars = 0
        longest_link = 0
        link_starts[:] = [0] * len(link_starts)

    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if type(item) is int:
            if item == _EXIT_LINK:
                link_depth -= 1
                longest_link = max(longest_link, link_chars - link_starts.pop())
            elif item == _EXIT_CELL:
                pieces.append(" \t ")
            else:
                flush()
                block_tags.pop()
                link_depth_at_block.pop()
            continue
        node: LexborNode = item  # type: ignore[assignment]
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            pieces.append(text)
            if link_depth:
                link_chars += len(text.strip())
            continue
        if tag is None or tag.startswith("-"):
            continue
        if tag == "br":
            pieces.append(_LINE_BREAK)
            continue
        if not (protected and node.mem_id in protected) and _skipped_in_body(node, tag, root, neutral, skip_tags):
            continue
        if tag in _BLOCK_TAGS:
            flush()
            block_tags.append(tag)
            link_depth_at_block.append(link_depth)
            stack.append(_EXIT_BLOCK)
        elif tag == "a" and not (block_tags[-1] in _HEADING_TAGS and _is_in_page_link(node)):
            # A heading that links to its own anchor (documentation tables of contents) is not navigation.
            link_depth += 1
            link_starts.append(link_chars)
            stack.append(_EXIT_LINK)
        elif tag in _CELL_TAGS:
            stack.append(_EXIT_CELL)
        children = list(node.iter(include_text=True))
        children.reverse()
        stack.extend(children)
    flush()
    return blocks


def _is_in_page_link(node: LexborNode) -> bool:
    return (node.attributes.get("href") or "").startswith("#")


def _keep_block(block: _Block, cards: bool = False) -> bool:
    """Drop boilerplate lines and link-dense blocks; with ``cards``, a block wrapped whole in a link and long
    enough to be a title or an excerpt is a listing's card and stays."""
    text = block.text
    length = len(text)
    if _BOILERPLATE_LINE.match(text):
        return False
    if cards and block.in_link and length >= _MIN_CARD_CHARS:
        return True
    if cards and block.longest_link >= _MIN_TITLE_LINK_CHARS and block.longest_link >= _TITLE_LINK_SHARE * block.link_chars:
        return True  # one long link that most of the block's links are: an item's title (jobs, stories), not a menu
    density = block.link_chars / length if length else 1.0
    if density > 0.5 and block.tag != "p":
        return False
    if density > 0.8:
        return False
    if block.tag == "li" and density > 0.6:
        return False
    return True


def _paragraphs_from(
    nodes: Iterable[LexborNode],
    title: str | None,
    protected: frozenset[int] = frozenset(),
    cards: bool = False,
    neutral: frozenset[str] = frozenset(),
) -> list[str]:
    paragraphs: list[str] = []
    title_key = (title or "").strip().lower()
    for node in nodes:
        for block in _walk_blocks(node, protected, neutral, _SKIP_IN_WHOLE_PAGE if cards else _SKIP_IN_BODY):
            if not _keep_block(block, cards):
                continue
            for line in block.text.split(_LINE_BREAK):
                line = line.strip()
                if not line or (block.tag in _HEADING_TAGS and line.lower() == title_key):
                    continue
                paragraphs.append(line)
    return paragraphs


def extract_paragraphs(tree: LexborHTMLParser, title: str | None = None) -> list[str]:
    """The article body of an already parsed page, as paragraphs. The tree is modified (junk is stripped)."""
    return _extract_body(tree, title).paragraphs


@dataclass(slots=True)
class _Body:
    paragraphs: list[str]
    protected: frozenset[int] = frozenset()  # the densest text and its ancestors: never skipped as furniture
    neutral: frozenset[str] = frozenset()  # boilerplate words this page uses for content


def _extract_body(tree: LexborHTMLParser, title: str | None, discussion: bool = False) -> _Body:
    """``discussion``: the page declares posts or comments, which are then content, not furniture."""
    _open_noscript_content(tree)
    _open_landmarks_holding_the_page(tree)
    tree.strip_tags(_JUNK_TAGS, recursive=True)
    body = tree.body or tree.root
    if body is None:
        return _Body([])
    ranked, candidates = _score_candidates(body, discussion)
    page_neutral = _DISCUSSION_NEUTRAL_WORDS if discussion else frozenset()
    if not ranked:
        return _Body(_paragraphs_from([body], title, neutral=page_neutral), neutral=page_neutral)
    best_text = candidates.get(_BEST_TEXT_KEY)
    if best_text is None:
        content = _content_nodes(ranked[0], candidates, page_neutral)
        return _Body(_paragraphs_from(content, title, neutral=page_neutral), neutral=page_neutral)
    protected = frozenset({best_text.node.mem_id} | _ancestor_ids(best_text.node))
    neutral = _neutral_hint_words(_path_from(best_text.node, ranked[0].node)) | page_neutral
    thread = _thread_of_posts(best_text.node, ranked[0].node) if discussion else None
    content = [thread] if thread is not None else _content_nodes(ranked[0], candidates, page_neutral)
    paragraphs = _paragraphs_from(content, title, protected, neutral=neutral)
    return _Body(paragraphs, protected, neutral)


def _thread_of_posts(best_text: LexborNode, chosen: LexborNode) -> LexborNode | None:
    """On a discussion page, the list of posts when the chosen container is one post of it: the parent of the
    lowest ancestor of the densest text that has at least ``_MIN_SIBLING_POSTS`` siblings of its own tag and
    class (forum software renders every post from one template). ``None`` when the chosen container already
    holds such a list or no repeated post is found."""
    node: LexborNode | None = best_text
    chosen_id = chosen.mem_id
    above_chosen = False
    for _ in range(_MAX_POST_CLIMB):
        if node is None or node.tag in ("body", "html", "-document"):
            return None
        parent = node.parent
        if parent is None:
            return None
        css_class = node.attributes.get("class")
        if css_class and _same_kind_siblings(node, parent, css_class) >= _MIN_SIBLING_POSTS:
            return parent if above_chosen or node.mem_id == chosen_id or _is_inside(chosen, node) else None
        above_chosen = above_chosen or node.mem_id == chosen_id
        node = parent
    return None


def _same_kind_siblings(node: LexborNode, parent: LexborNode, css_class: str) -> int:
    tag = node.tag
    return sum(
        1
        for child in parent.iter()
        if child.mem_id != node.mem_id and child.tag == tag and child.attributes.get("class") == css_class
    )


def _is_inside(node: LexborNode, ancestor: LexborNode) -> bool:
    return ancestor.mem_id in _ancestor_ids(node)


def _path_from(node: LexborNode, top: LexborNode) -> list[LexborNode]:
    """``node`` and its ancestors up to ``top`` (all of them when ``top`` is not above ``node``)."""
    path = []
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        path.append(current)
        if current.mem_id == top.mem_id:
            break
        current = current.parent
    return path


def _whole_page_paragraphs(
    tree: LexborHTMLParser, title: str | None, protected: frozenset[int] = frozenset(), neutral: frozenset[str] = frozenset()
) -> list[str]:
    """Every kept block of the page's main region (``<main>`` when it holds a good share of the text, else the
    body), for pages whose content is spread over many sections: services, listings, products, shop grids.
    The ``protected`` path down to the densest text is walked even when a class calls it furniture."""
    body = tree.body or tree.root
    if body is None:
        return []
    main = tree.css_first("main") or tree.css_first('[role="main"]')
    root = main if main is not None and len(main.text()) > _MAIN_REGION_SHARE * len(body.text()) else body
    return _paragraphs_from([root], title, protected, cards=True, neutral=neutral)


def _spread_content(tree: LexborHTMLParser, title: str | None, found: _Body) -> list[str]:
    """On a page that is not an article, the best single container often holds one section of many: when
    the whole main region has much more text, it is the content."""
    paragraphs = found.paragraphs
    whole = _whole_page_paragraphs(tree, title, found.protected, found.neutral)
    if sum(len(p) for p in paragraphs) < _SINGLE_CONTAINER_SHARE * sum(len(p) for p in whole):
        return whole
    return paragraphs


def _without_repeats(paragraphs: list[str]) -> list[str]:
    """Drop paragraphs that repeat an earlier one word for word: shops and app shells render the same block
    twice (a mobile and a desktop copy, a sticky header repeating the price), and it counts once."""
    seen: set[str] = set()
    kept = []
    for paragraph in paragraphs:
        key = paragraph.lower()
        if len(key) >= _MIN_REPEAT_CHARS and key in seen:
            continue
        seen.add(key)
        kept.append(paragraph)
    return kept


def _open_noscript_content(tree: LexborHTMLParser) -> None:
    """Unwrap ``<noscript>`` blocks that hold the page's content, when they hold most of its text: what a
    reader without JavaScript sees is the page (Discourse forums, server-rendered fallbacks of app shells)."""
    body = tree.body
    if body is None:
        return
    large = [node for node in body.css("noscript") if len(node.text()) >= _NOSCRIPT_CONTENT_CHARS]
    if not large:
        return
    inside = sum(len(node.text()) for node in large)
    page_text = body.text()
    if inside * 2 < len(page_text):
        # Compared with the text a reader sees, inline scripts and styles (app state, often most of the page's
        # characters) left out, one fallback block must hold half of it: several smaller ones are widgets'.
        visible = len(page_text) - sum(len(node.text()) for node in body.css("script, style"))
        largest = max(large, key=lambda node: len(node.text()))
        if len(largest.text()) * 2 < visible:
            return
        large = [largest]
    for node in large:
        node.unwrap()


def _open_landmarks_holding_the_page(tree: LexborHTMLParser) -> None:
    """Unwrap an ``<aside>``, ``<nav>`` or ``<footer>`` that holds most of the page's text: misused as a
    layout wrapper, it is the page, and stripping it as furniture would leave nothing."""
    body = tree.body
    if body is None:
        return
    sized = [(len(node.text()), node) for node in body.css(_LANDMARK_TAGS)]
    sized = [(length, node) for length, node in sized if length >= _MIN_PAGE_CHARS]
    if not sized:
        return  # the common case, settled without reading the whole page's text
    most = len(body.text()) * _LANDMARK_PAGE_SHARE
    for length, node in sized:
        if length > most:
            node.unwrap()


def _declares_product(tree: LexborHTMLParser, metadata: PageMetadata) -> bool:
    """The page says it is about one product (and not that it is a story about one)."""
    types = metadata.json_ld_types
    if types & _STORY_SCHEMA_TYPES or (metadata.og_type or "").lower() == "article":
        return False
    if types & _PRODUCT_SCHEMA_TYPES or (metadata.og_type or "").lower() in _PRODUCT_OG_TYPES:
        return True
    return tree.css_first(_PRODUCT_MICRODATA) is not None


def _declares(tree: LexborHTMLParser, metadata: PageMetadata, schema_types: frozenset[str], microdata: str) -> bool:
    """The page declares itself one of ``schema_types``, in its JSON-LD or as microdata (the ``microdata``
    selector): a discussion (forum posts, questions and answers, comments), or a question with answers."""
    return bool(metadata.json_ld_types & schema_types) or tree.css_first(microdata) is not None


def _without_post_furniture(paragraphs: list[str], counters: bool = True) -> list[str]:
    """A discussion's or a shop's paragraphs less member cards (a label line and its short value line, or both
    on one line) and bare counters."""
    kept = []
    after_label = False
    for paragraph in paragraphs:
        if after_label and len(paragraph) <= _MAX_CARD_VALUE_CHARS:
            after_label = False
            continue
        after_label = bool(_MEMBER_CARD_BARE_LABEL.match(paragraph))
        if after_label or _MEMBER_CARD_LINE.match(paragraph) or (counters and _BARE_COUNT_LINE.match(paragraph)):
            continue
        kept.append(paragraph)
    return kept


def _drop_reviews(tree: LexborHTMLParser) -> None:
    """Remove the customer-review subtrees of a product page (the outermost of each nest), except one that
    holds the page's heading (a wrapper around the product itself)."""
    body = tree.body
    if body is None:
        return
    found = [node for node in body.css(_REVIEW_CANDIDATES) if _REVIEW_HINT.search(_review_hint_text(node))]
    if not found:
        return
    chosen = {node.mem_id for node in found}
    outermost: list[LexborNode] = []
    for node in found:  # decide over the whole tree first: removing a node frees its descendants, found later
        if not chosen.isdisjoint(_ancestor_ids(node)):
            continue
        if node.css_first("h1") is not None:
            chosen.discard(node.mem_id)
            continue
        outermost.append(node)
    for node in outermost:
        node.decompose()


def _review_hint_text(node: LexborNode) -> str:
    attributes = node.attributes
    return " ".join(attributes.get(name) or "" for name in ("class", "id", "itemprop", "itemtype"))


def _teasers(tree: LexborHTMLParser, base: str | None, own_url: str | None) -> list[Teaser]:
    """Links to other stories from "related" / "recommended" blocks, kept out of the body."""
    teasers: list[Teaser] = []
    seen: set[str] = set()
    for block in tree.css(_RELATED_SELECTOR):
        for link in block.css("a[href]"):
            title = _SPACE.sub(" ", link.text(separator=" ")).strip()
            href = absolute_url(link.attributes.get("href"), base)
            if len(title) < 15 or not href or href in seen or href == own_url:
                continue
            seen.add(href)
            teasers.append(Teaser(title=title[:300], url=href))
            if len(teasers) >= _MAX_TEASERS:
                return teasers
    return teasers


# Page-type evidence and its weight (log-odds of "article"), fitted as a logistic regression on general page
# properties over the WCXB dev pages (7 page types) and rounded; 5-fold cross-validated accuracy 0.85.
_NOT_ARTICLE_SCHEMA_TYPES = frozenset(
    {
        "product", "offer", "itemlist", "collectionpage", "searchresultspage", "discussionforumposting", "qapage",
        "question", "softwareapplication",
    }
)
_NOT_ARTICLE_OG_TYPES = frozenset({"product", "profile", "video.other", "music.song", "business.business"})
_YEAR_IN_PATH = re.compile(r"/(?:19|20)\d\d/")
_ARTICLE_PRIOR = -2.5


def _slug_of(url: str | None) -> str:
    path = (url or "").split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] if path.count("/") > 2 else ""


def _article_score(metadata: PageMetadata, paragraphs: list[str], url: str | None, has_date: bool) -> float:
    """Log-odds that the page is an article (a story, post or guide) rather than a product, listing, forum,
    service or documentation page."""
    characters = sum(len(p) for p in paragraphs)
    words = sum(len(p.split()) for p in paragraphs)
    long_paragraphs = sum(1 for p in paragraphs if len(p) >= 80)
    og_type = (metadata.og_type or "").lower()
    score = _ARTICLE_PRIOR
    score += 1.6 if metadata.declares_article else 0.0
    score -= 0.5 if og_type == "website" else 0.0
    score -= 0.7 if og_type in _NOT_ARTICLE_OG_TYPES else 0.0
    score -= 1.5 if metadata.json_ld_types & _NOT_ARTICLE_SCHEMA_TYPES else 0.0
    score += 0.8 if metadata.author else 0.0
    score += 0.3 if has_date else 0.0
    score += 0.2 if long_paragraphs >= 6 else 0.0
    score += 0.9 if words >= 600 else 0.0
    score += 0.7 if paragraphs and characters / len(paragraphs) >= 120 else 0.0
    # Articles live at descriptive slugs ("/how-to-plant-tulips-in-autumn") and dated paths.
    if url:
        score += 1.5 if _slug_of(url).count("-") >= 3 else 0.0
        score += 0.6 if _YEAR_IN_PATH.search(url) else 0.0
    else:
        score += 0.75  # no address to read: half the slug's weight, neither evidence for nor against
    return score


def _page_type(metadata: PageMetadata, paragraphs: list[str], url: str | None = None, has_date: bool = False) -> str:
    """"article" or "other", from what the page declares, its address and the shape of its text."""
    return "article" if _article_score(metadata, paragraphs, url or metadata.canonical_url, has_date) > 0 else "other"


def _check_size(content: bytes | str) -> None:
    size = len(content) if isinstance(content, bytes) else len(content) * (1 if content.isascii() else 2)
    if size > MAX_INPUT_BYTES:
        raise InputTooLargeError(f"the page is {size:,} bytes, over the {MAX_INPUT_BYTES:,}-byte limit")


def _deepest_nesting(text: str) -> int:
    """An estimate of the deepest nesting of block elements, from their start and end tags alone (linear)."""
    steps = map(_DEPTH_STEP.__getitem__, _STACK_SCANNING_TAG.findall(text))
    return max(accumulate(steps), default=0)


def _deepest_text_block_nesting(text: str) -> int:
    """The deepest nesting of tables and blockquotes, from their start and end tags alone (linear)."""
    if text.count("<t") + text.count("<T") + text.count("<b") + text.count("<B") <= MAX_TEXT_BLOCK_NESTING:
        return 0  # too few candidate tags to nest that deep: settled without a regular-expression scan
    steps = map(_DEPTH_STEP.__getitem__, _TEXT_BLOCK_TAG.findall(text))
    return max(accumulate(steps), default=0)


def _is_text_block_tag(tag: str) -> bool:
    """``tag`` is a whole start or end tag matched by ``_STACK_SCANNING_TAG_WHOLE``; of its names only
    "table" starts with t and only "blockquote" with b."""
    return tag[2 if tag[1] == "/" else 1] in "tTbB"


def _flatten_deep_nesting(
    text: str, limit: int = MAX_NESTING_DEPTH, text_block_limit: int | None = MAX_TEXT_BLOCK_NESTING
) -> str:
    """Drop the block tags (not their text) that would sit deeper than ``limit``, and the table and blockquote
    tags deeper than ``text_block_limit`` among themselves (``None``: not checked), so that a hostile page
    parses and scores in linear time; pages within the limits are returned as they are."""
    too_deep = text.count("<") > _UNSCANNED_TAGS and _deepest_nesting(text) > limit
    if text_block_limit is None:
        if not too_deep:
            return text
        text_block_limit = len(text)
    elif not too_deep and _deepest_text_block_nesting(text) <= text_block_limit:
        return text
    depth = 0
    text_block_depth = 0

    def keep_or_drop(match: re.Match[str]) -> str:
        nonlocal depth, text_block_depth
        tag = match.group(0)
        kept = True
        if _is_text_block_tag(tag):
            if match.group(1):
                text_block_depth = max(0, text_block_depth - 1)
                kept = text_block_depth < text_block_limit
            else:
                text_block_depth += 1
                kept = text_block_depth <= text_block_limit
        if match.group(1):  # an end tag
            depth = max(0, depth - 1)
            kept = kept and depth < limit
        else:
            depth += 1
            kept = kept and depth <= limit
        return tag if kept else " "

    return _STACK_SCANNING_TAG_WHOLE.sub(keep_or_drop, text)


def _parse(text: str) -> LexborHTMLParser:
    """The page's tree, its hostile nesting flattened. Tables and blockquotes are checked for deep nesting only
    when the tree holds more of them than the limit: scanning every page's text for them costs more."""
    tree = LexborHTMLParser(_flatten_deep_nesting(text, text_block_limit=None))
    many = len(tree.css("table, blockquote")) > MAX_TEXT_BLOCK_NESTING
    if many and _deepest_text_block_nesting(text) > MAX_TEXT_BLOCK_NESTING:
        tree = LexborHTMLParser(_flatten_deep_nesting(text))
    return tree


def extract_html(content: bytes | str, url: str | None = None, headers: Mapping[str, str] | None = None) -> Article:
    """Extract the article (body paragraphs and metadata) from one HTML page.

    Raises ``InputTooLargeError`` over ``MAX_INPUT_BYTES``, ``DecodeError`` for bytes that are not text and
    ``ExtractionError`` when the page holds neither body text nor a title."""
    if not isinstance(content, (bytes, str)):
        raise TypeError("content must be bytes or str")
    _check_size(content)
    text = decode_bytes(content, headers) if isinstance(content, bytes) else content
    if not text.strip():
        raise ExtractionError("the page is empty")
    if "\x00" in text:
        text = text.replace("\x00", "")
    tree = _parse(text)
    metadata = read_metadata(tree, url)
    date = find_publication_date(tree, url, headers, metadata)
    teasers = _teasers(tree, url or metadata.canonical_url, metadata.canonical_url)
    product = _declares_product(tree, metadata)
    if product:
        _drop_reviews(tree)
    discussion = _declares(tree, metadata, _DISCUSSION_SCHEMA_TYPES, _DISCUSSION_MICRODATA)
    furnished = product or discussion
    threads = discussion and not _declares(tree, metadata, _QUESTION_SCHEMA_TYPES, _QUESTION_MICRODATA)
    found = _extract_body(tree, metadata.title, threads)
    paragraphs = found.paragraphs
    if not paragraphs and not metadata.title:
        raise ExtractionError("no article text or title found in the page")
    page_type = _page_type(metadata, paragraphs, url, date.value is not None)
    if page_type != "article":
        paragraphs = _spread_content(tree, metadata.title, found)
    if product:
        paragraphs = _without_repeats(paragraphs)
    paragraphs = _without_post_furniture(paragraphs, counters=furnished)
    body_text = "\n\n".join(paragraphs)
    canonical = metadata.canonical_url
    return Article(
        id=article_id_for(canonical or url, body_text),
        title=metadata.title or (paragraphs[0][:200] if paragraphs else ""),
        paragraphs=paragraphs,
        url=url,
        canonical_url=canonical,
        site=metadata.site,
        author=metadata.author,
        published_at=date.value,
        published_at_source=date.source,
        published_at_confidence=date.confidence,
        language=metadata.language,
        image=metadata.image,
        page_type=page_type,
        teasers=teasers,
    )
