"""Article extraction from flattened page text: the whole page dumped as text, as crawlers store it
(Common Crawl WET records, ``lynx -dump``, HTML-to-text converters).

Nothing of the page structure is left, so every decision comes from general properties of the text:

    text ──normalise──► lines ──score──► blocks (good / near / short / bad / section break / teaser)
         ──max-sum run──► body paragraphs ──around it──► title, date line, teasers

* Each non-empty line is a block. Blank lines are only separators, so pages whose blocks are separated by a
  single newline (WET style) read the same as pages with blank lines; hard-wrapped dumps are re-joined first.
* A block is article-like when it is long, reads like prose (stop-word share in a dozen languages, sentence
  punctuation including CJK 。！？) and is not boilerplate ("Advertisement", "Share", "Subscribe"... in many
  languages). Pages in a language without a stop-word list fall back to length and punctuation alone.
* The body is the contiguous run of blocks with the largest total value (Kadane's algorithm: linear time):
  article-like blocks add, short lines cost a little (so a subheading inside the article is kept),
  boilerplate costs more, and section headers such as "Related" or "More like this" cost a lot, so the run
  rarely crosses into the teasers after the article. A comment thread (repeated "X said:" headers), lines
  repeated across the page (share bars, a summary repeating the article) and excerpts followed by "Read more"
  count as furniture.
* The title is the best heading-like line before the body; the date comes only from a date written on the
  page ("Date: ...", "Published ...", or a date line by the title), never from the crawl time; teasers are
  (title line, excerpt ending in "..." or "…") pairs outside the body.

Input is capped (``MAX_INPUT_CHARS``) so hostile or huge dumps cost bounded, linear work.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from ..errors import ExtractionError, InputError
from ..model import Article, Teaser, article_id_for
from ..urls import canonicalize_url, site_of
from .dates import parse_date_text

__all__ = ["extract_text", "MAX_INPUT_CHARS"]

# A news page dumped as text is rarely over 300 kB; past this we read only the beginning, so the work stays
# bounded whatever we are given.
MAX_INPUT_CHARS = 2_000_000
# One "line" longer than this is cut: a minified blob or binary junk, never a paragraph worth reading whole.
_MAX_LINE_CHARS = 50_000

# Kinds of block.
_GOOD = "good"  # reads like article prose
_NEAR = "near"  # prose-like but short or weak: body when next to good blocks
_SHORT = "short"  # a short line: heading, label, menu item
_BAD = "bad"  # boilerplate: advertisement slot, share/subscribe/login, copyright, link lists
_BREAK = "break"  # a section header that closes an article: "Related", "More like this", "Comments"
_TEASER = "teaser"  # part of a (title, excerpt...) teaser pair
_COMMENT = "comment"  # the header of a reader comment ("Jane on May 2, 2019 at 4:47 pm said:")
_TABLE = "table"  # a row of a table (cells separated by tabs, as HTML-to-text converters write them)

# Values for the max-sum run. Prose adds its length; everything else costs, so that the run bridges a
# subheading or an "Advertisement" slot inside an article but not a menu or a block of teasers.
_SHORT_COST = -35.0
_BAD_COST = -70.0
_TEASER_COST = -90.0
_BREAK_COST = -450.0
_COMMENT_COST = -200.0
# Once a section header has closed some prose, what follows is more likely comments or more stories than
# the article, so it counts for less.
_AFTER_BREAK_WEIGHT = 0.5
_PROSE_BEFORE_BREAK = 300.0
# A comment thread (two or more comment headers after some prose) is read but hardly counts.
_COMMENT_THREAD_WEIGHT = 0.1
# Prose late in the page counts a little less: footers and "about us" blurbs come last, articles rarely do.
_LATE_PAGE_DISCOUNT = 0.3
_NEAR_WEIGHT = 0.35
# A table row is data, not prose: it adds less than prose of its length, but enough that the run keeps a
# table inside or right after the article (results, standings, price lists) instead of stopping before it.
_TABLE_WEIGHT = 0.5
# Consecutive rows of at least two cells needed to call lines a table (one tabbed line is a layout accident).
_TABLE_MIN_ROWS = 3
# Blocks in a row ending in "..." that make a list of excerpts; lone dated summaries that make a card list.
_EXCERPT_LIST_MIN = 3
_DATED_CARDS_MIN = 3
_GOOD_VALUE_CAP = 1500.0

# A block that starts with the whole of an earlier block at least this long repeats it.
_REPEAT_MIN_CHARS = 50
_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_SENTENCE_END = re.compile(r"[.!?。！？…:;](?:[\"'”’»)\]]*)\s*$")
_SENTENCE_MARK = re.compile(r"[.!?。！？](?:\s|$|[\"'”’»)])")
_ELLIPSIS_END = re.compile(r"(?:\.{3,}|…)+\s*[\"'”’»)\]]*\s*$")
_LIST_MARKER = re.compile(r"^(?:[*+•·▪■►▶-]|\d{1,2}[.)])\s+")
_LINK_SEPARATORS = re.compile(r"\s[|•·»›/]\s|\s\|\s?|\|")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TABS = re.compile(r"\t+")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BYLINE = re.compile(r"^(?:by|von|par|por|di|door|av|af|автор)\s+\S", re.IGNORECASE)

# The most frequent function words of common languages: a high share of them tells prose from menus,
# names and headlines whatever the topic.
_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the a an of to in and or is are was were be been has have had it its this that these those with "
        "for on at by from as but not he she they we you i his her their our who which what when where "
        "will would can could should may might said says there than then also after before about into over "
        "more most some such no so if one all out up do does did being just only other new",
        "de": "der die das den dem des ein eine einen einem einer und oder ist sind war waren wird werden wurde "
        "hat haben hatte nicht mit von zu im in auf für an als auch es sie er wir ich bei nach aus wie dass "
        "noch nur so aber vor über um sich dieser diese dieses",
        "fr": "le la les un une des du de et ou est sont était être a ont avait pas ne avec pour sur dans par au "
        "aux ce cette ces il elle ils nous vous qui que qu plus mais comme se son sa ses leur été",
        "es": "el la los las un una unos unas de del y o es son era fue ser ha han había no con para por en al "
        "que se su sus lo como más pero este esta estos le les ya muy también",
        "it": "il lo la i gli le un una uno di del della dei delle e o è sono era ha hanno non con per su in al "
        "alla che si come più ma questo questa anche nel nella dal dalla",
        "pt": "o a os as um uma de do da dos das e ou é são era foi ser tem não com para por em no na nos nas ao "
        "que se seu sua como mais mas este esta também já muito",
        "nl": "de het een en of is zijn was waren wordt werd heeft hebben niet met van voor op in aan als ook er "
        "die dat dit deze hij zij wij ik bij naar uit hoe maar te om",
        "sv": "och i att det som en på är av för med till den har de inte om ett han men var jag sig från vi så "
        "kan man när år",
        "pl": "i w na z do że się nie to jest jak po co od za ale o dla tak jego jej są przez przy",
        "ru": "и в не на что с по как это он она они но из к у за от о же так для был была было были его её их "
        "который которые также",
        "id": "yang dan di ke dari ini itu dengan untuk pada adalah dalam tidak akan juga oleh sebagai atau",
        "tr": "ve bir bu da de için ile olarak çok daha gibi en ne o ama olan var",
    }.items()
}
_ALL_STOPWORDS = frozenset().union(*_STOPWORDS.values())
# Function words that English Title Case capitalises and prose does not ("the" is left out: it starts names).
_HEADLINE_FUNCTION_WORDS = frozenset(
    "a an of in on at to for with and or but is are was be can will from by as after over into about how why what "
    "when who your you its this that has have not".split()
)

# Boilerplate vocabulary: a short line made (mostly) of these is page furniture, not article text.
_BOILERPLATE_TERMS = (
    # advertising
    "advertisement|advertising|sponsored|sponsored content|anzeige|werbung|publicité|publicidad|pubblicità|"
    "publicidade|advertentie|reklama|реклама|广告|廣告|広告|광고|"
    # sharing, following, subscribing, accounts
    "share|share this|share post|share this article|share on facebook|share on twitter|tweet|email|e-mail|print|"
    "facebook|twitter|linkedin|whatsapp|pinterest|reddit|telegram|copy link|"
    "teilen|partager|compartir|condividi|compartilhar|delen|поделиться|分享|シェア|공유|"
    "subscribe|subscribe now|sign up|sign in|log in|login|logout|log out|register|my account|newsletter|"
    "abonnieren|anmelden|s'abonner|abonnez-vous|connexion|suscribirse|suscríbete|iniciar sesión|iscriviti|accedi|"
    "assine|entrar|inloggen|подписаться|войти|订阅|登录|ログイン|구독|"
    "follow us|follow|folgen sie uns|suivez-nous|síguenos|seguici|siga-nos|"
    # navigation and page furniture
    "skip to content|skip to main content|skip to navigation|menu|search|home|close|back to top|next|previous|"
    "load more|show more|see more|view all|read more|continue reading|weiterlesen|mehr lesen|lire la suite|"
    "leer más|leggi anche|leia mais|lees meer|читать далее|阅读更多|続きを読む|"
    "comments|comment|leave a comment|leave a reply|post a comment|kommentare|commentaires|comentarios|commenti|"
    "reacties|комментарии|评论|コメント|댓글|"
    "cookie|cookies|cookie policy|privacy policy|privacy|terms of use|terms of service|terms and conditions|"
    "contact us|about us|datenschutz|impressum|mentions légales|aviso legal|"
    "all rights reserved|alle rechte vorbehalten|tous droits réservés|todos los derechos reservados|"
    "tutti i diritti riservati|todos os direitos reservados|"
    "tags|topics|filed under|categories|category|image|photo|video|gallery|credit|source|getty images|"
    "click here|loading|listen|listen to this article|audio|watch|play|"
    "today's paper|supported by|opinion|editorial|trending now|most read|most popular|popular|"
    "related|related articles|related stories|related posts|more like this|you may also like|recommended|"
    "more stories|more from|see also|also read|read also|latest news|top stories"
)
_BOILERPLATE_LINE = re.compile(
    rf"^(?:(?:{_BOILERPLATE_TERMS})(?:\s*[:|/,&·•-]\s*|\s+|$))+$",
    re.IGNORECASE,
)
# Strong boilerplate that no article paragraph starts with; counted whatever the length (up to a limit).
_BOILERPLATE_PREFIX = re.compile(
    r"^(?:©|\(c\)\s|copyright\b|all rights reserved|this (?:site|website) uses cookies|we use cookies|"
    r"by (?:using|continuing to use) (?:this|our) (?:site|website)|(?:photo|image|picture|video) credit|"
    r"(?:photo|image|foto|bild)\s*:|credit\s*:|source\s*:|tags\s*:|filed under\b|advertisement\b)",
    re.IGNORECASE,
)
# A picture caption ends with its credit: "... the university (Image: GETTY )", "... (Photo: AP)".
_CREDIT_SUFFIX = re.compile(
    r"\((?:image|images|photo|photos|picture|pic|foto|bild|credit|source|video)\s*:[^()]{1,60}\)\s*$", re.IGNORECASE
)
# Section headers after which a page stops being the article: more stories, comments, sharing.
_SECTION_BREAK = re.compile(
    r"^(?:related(?: articles| stories| posts| news| content| coverage| topics)?|more like this|more on this|"
    r"you (?:may|might) also like|recommended(?: for you| stories| articles)?|read (?:more|next|also)|"
    r"also read|see also|more stories|more news|more from .{1,40}|most (?:read|popular|viewed|shared)|popular"
    r"(?: now| stories| posts)?|trending(?: now| stories)?|latest(?: news| stories| posts)?|top stories|"
    r"comments?|\d+ comments?|leave a (?:reply|comment)|post a comment|join the (?:conversation|discussion)|"
    r"share(?: this)?(?: post| article| story)?|share post|subscribe|sign up for .{1,40}|newsletter|"
    r"ähnliche artikel|mehr zum thema|das könnte sie auch interessieren|kommentare|"
    r"à lire aussi|lire aussi|articles similaires|sur le même sujet|commentaires|"
    r"te puede interesar|noticias relacionadas|relacionad[oa]s|comentarios|"
    r"leggi anche|articoli correlati|commenti|leia também|veja também|notícias relacionadas|"
    r"gerelateerde artikelen|lees ook|reacties|читайте также|похожие статьи|комментарии|"
    r"相关阅读|相关文章|相关新闻|热门|推荐阅读|評論|评论|関連記事|あわせて読みたい|コメント|관련 기사|댓글)\s*:?$",
    re.IGNORECASE,
)
# Words of consent banners, paywalls and site notices: prose about the site, not the story. A block that uses
# several of them is furniture even when it is long and well written.
_SITE_NOTICE_WORD = re.compile(
    r"\b(?:cookies?|this (?:web)?site|our (?:web)?site|browser|javascript|consent|opt[- ]out|privacy|personal data|"
    r"third[- ]part(?:y|ies)|terms of (?:use|service)|subscri(?:be|ber|ption)s?|newsletter|sign up|log in|"
    r"email address|ad ?blocker|all rights reserved|copyright|datenschutz|einwilligung|customer service|"
    r"telephone|phone|fax|e-?mail|contact us|"
    r"données personnelles|consentement|navegador|consentimiento|privacidad|informativa)\b",
    re.IGNORECASE,
)
_READ_MORE = re.compile(
    r"^(?:read more|read full (?:story|article)|full story|continue reading|weiterlesen|mehr lesen|lire la suite|"
    r"leer más|seguir leyendo|leggi tutto|continua a leggere|leia mais|lees meer|читать далее|阅读全文|続きを読む)$",
    re.IGNORECASE,
)
_COMMENTS_HEADER = re.compile(
    r"\b(?:comments|kommentare|commentaires|comentarios|commenti|comentários|reacties|комментарии)\b", re.IGNORECASE
)
# "Jane on May 2, 2019 at 4:47 pm said:", "John says:", "Reply": the furniture of a comment thread.
_COMMENT_META = re.compile(
    r"(?:\b(?:said|says|wrote|writes|replied|sagt|schrieb|schreibt|a dit|a écrit|dice|dijo|escribió|scrive|disse|"
    r"schreef)\s*:?\s*$|^(?:reply|antworten|répondre|responder|rispondi|\d+ (?:likes?|replies))$)",
    re.IGNORECASE,
)
_DATE_LABEL = re.compile(
    r"^\s*(?P<label>date|dated|published(?: on| at)?|posted(?: on| at)?|first published(?: on)?|updated(?: on| at)?|"
    r"last updated(?: on)?|modified|veröffentlicht(?: am)?|aktualisiert(?: am)?|stand|datum|publié le|publié|"
    r"mis à jour(?: le)?|publicado(?: el| em)?|actualizado(?: el)?|atualizado(?: em)?|pubblicato(?: il)?|"
    r"aggiornato(?: il)?|gepubliceerd(?: op)?|bijgewerkt(?: op)?|опубликовано|发布时间|发布日期|更新时间|"
    r"公開日|更新日|投稿日)\s*[:：]?",
    re.IGNORECASE,
)
_UPDATED_LABEL = re.compile(r"updat|modif|aktualis|mis à jour|actualiz|atualiz|aggiorn|bijgewerkt|更新", re.IGNORECASE)
# The line is little more than a date (optionally a time, a weekday, a place or a short label).
_DATE_LINE_MAX_CHARS = 90


@dataclass(slots=True)
class _Block:
    """One line of the page with the features the decisions are made from."""

    text: str
    length: float  # characters, CJK ones weighted up (one CJK character carries about a word)
    words: int
    stopword_share: float
    ends_sentence: bool
    sentence_marks: int
    cells: int = 1  # table cells on the line (tab-separated); 1 for ordinary text
    kind: str = _SHORT

    @property
    def value(self) -> float:
        if self.kind == _GOOD:
            return min(self.length, _GOOD_VALUE_CAP)
        if self.kind == _NEAR:
            return self.length * _NEAR_WEIGHT
        if self.kind == _TABLE:
            return self.length * _TABLE_WEIGHT
        if self.kind == _BAD:
            return _BAD_COST
        if self.kind == _TEASER:
            return _TEASER_COST
        if self.kind == _BREAK:
            return _BREAK_COST
        if self.kind == _COMMENT:
            return _COMMENT_COST
        # A longer short line (a subheading, a list item) is likelier body than a two-word menu entry.
        return _SHORT_COST + min(15.0, 0.25 * self.length)


def extract_text(text: str, url: str | None = None) -> Article:
    """Extract the article from a flattened page (the whole page as text).

    Raises ``ExtractionError`` when no article body can be found and ``InputError`` when ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise InputError(f"extract_text expects the page as str, got {type(text).__name__}; decode bytes first")
    lines = _normalised_lines(text[:MAX_INPUT_CHARS])
    if not lines:
        raise ExtractionError("no article body found: the text is empty")
    blocks = [_block_of(line) for line in lines]
    _classify(blocks)
    start, end = _best_run(blocks)
    paragraphs = _body_paragraphs(blocks, start, end)
    if not paragraphs:
        raise ExtractionError(
            "no article body found: the text holds no run of prose paragraphs (only menus, headings or boilerplate)"
        )
    title_index = _title_index(blocks, start)
    title = blocks[title_index].text if title_index is not None else ""
    published_at, confidence = _published_date(blocks, start, end, title_index)
    body_text = "\n\n".join(paragraphs)
    canonical_url = canonicalize_url(url)
    return Article(
        id=article_id_for(canonical_url, body_text),
        title=title,
        paragraphs=paragraphs,
        url=url,
        canonical_url=canonical_url,
        site=site_of(url),
        published_at=published_at,
        published_at_source="text" if published_at is not None else "unknown",
        published_at_confidence=confidence,
        language=_language_of(blocks[start:end]),
        page_type="article",
        teasers=_teasers(blocks, start, end),
    )


# ---------------------------------------------------------------------------------------------- normalising


def _normalised_lines(text: str) -> list[str]:
    """Non-empty lines with white space, invisible and control characters cleaned; hard wraps re-joined."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    raw_lines = [_cleaned_line(line[:_MAX_LINE_CHARS]) for line in text.split("\n")]
    raw_lines = _rejoin_hard_wraps(raw_lines)
    lines = []
    for line in raw_lines:
        line = _LIST_MARKER.sub("", line).strip()
        if line and _WORD.search(line):
            lines.append(line)
    return lines


def _cleaned_line(line: str) -> str:
    """White space collapsed to single spaces, except that the tab between table cells stays one tab."""
    cells = [_SPACES.sub(" ", cell).strip() for cell in _TABS.split(line)]
    return "\t".join(cell for cell in cells if cell)


def _rejoin_hard_wraps(lines: list[str]) -> list[str]:
    """Re-join paragraphs a text dumper wrapped at a fixed width (lynx, html2text, w3m).

    A page is taken as wrapped when most of its longer lines end within a few characters of one width of at
    most 100 columns; then consecutive lines of one blank-line-separated chunk are joined while the previous
    line reached near that width (a shorter line ended its paragraph).
    """
    lengths = [len(line) for line in lines if len(line) >= 40]
    if len(lengths) < 8:
        return lines
    width = sorted(lengths)[int(len(lengths) * 0.9)]
    if width > 100 or any(len(line) > width + 5 for line in lines):
        return lines
    near_width = sum(1 for n in lengths if n >= width - 12)
    if near_width < 0.5 * len(lengths):
        return lines
    joined: list[str] = []
    previous_full = False
    for line in lines:
        if line and previous_full and joined and joined[-1]:
            joined[-1] = joined[-1] + " " + line
        else:
            joined.append(line)
        previous_full = len(line) >= width - 15
    return joined


# ----------------------------------------------------------------------------------------------- classifying


def _block_of(line: str) -> _Block:
    words = _WORD.findall(line)
    cjk_chars = len(_CJK.findall(line)) if not line.isascii() else 0
    # A CJK character carries about as much as a short word with its space: weigh it like three Latin ones.
    length = len(line) + 2.0 * cjk_chars
    word_count = len(words) + (cjk_chars // 2 if cjk_chars else 0)
    if words:
        stop = sum(1 for w in words if w.lower() in _ALL_STOPWORDS)
        stopword_share = stop / len(words)
    else:
        stopword_share = 0.0
    return _Block(
        text=line,
        length=length,
        words=word_count,
        stopword_share=stopword_share,
        ends_sentence=bool(_SENTENCE_END.search(line)),
        sentence_marks=len(_SENTENCE_MARK.findall(line)) + (1 if line[-1:] in ".!?。！？" else 0),
        cells=line.count("\t") + 1,
    )


def _classify(blocks: list[_Block]) -> None:
    """Give every block its kind, from its own features and then its neighbours."""
    # Pages in a language without a stop-word list (or in CJK) are judged on length and punctuation only.
    # The upper quartile is read, not the mean: menus and tag clouds must not hide the prose.
    shares = sorted(b.stopword_share for b in blocks if b.words >= 12)
    use_stopwords = bool(shares) and shares[(3 * len(shares)) // 4] >= 0.15
    for block in blocks:
        block.kind = _own_kind(block, use_stopwords)
    _mark_tables(blocks)
    _mark_repeats(blocks)
    _mark_teasers(blocks)
    _mark_excerpt_lists(blocks)
    _mark_dated_cards(blocks)
    _mark_read_more_excerpts(blocks)
    _demote_inline_breaks(blocks)
    _promote_between_prose(blocks)


def _own_kind(block: _Block, use_stopwords: bool) -> str:
    text = block.text
    if block.length <= 60 and (_SECTION_BREAK.match(text.strip(" .:-–—|•·>»()[]")) or (
        block.words <= 5 and _COMMENTS_HEADER.search(text)
    )):
        return _BREAK
    if block.words <= 12 and _BOILERPLATE_LINE.match(text.strip(" .:-–—|•·>»!")):
        return _BAD
    if block.words <= 60 and (_BOILERPLATE_PREFIX.match(text) or _CREDIT_SUFFIX.search(text)):
        return _BAD
    if block.words <= 15 and _COMMENT_META.search(text):
        return _COMMENT
    notices = len(_SITE_NOTICE_WORD.findall(text))
    if (notices >= 3 and block.words <= 150) or (notices >= 2 and block.words <= 40):
        return _BAD
    if _URL.fullmatch(text) or (len(_LINK_SEPARATORS.findall(text)) >= 3 and block.stopword_share < 0.2):
        return _BAD
    if block.words <= 8 and _BYLINE.match(text):
        return _SHORT
    if _has_headline_lead(text) or _has_glued_headline(text):
        return _TEASER  # a Title Case Headline Glued To Its Excerpt: a teaser, not article prose
    prose = block.stopword_share >= 0.22 if use_stopwords else True
    weak_prose = block.stopword_share >= 0.12 if use_stopwords else True
    if block.length >= 90 and prose and (block.ends_sentence or block.sentence_marks >= 1):
        return _GOOD
    if block.length >= 250 and weak_prose and (use_stopwords or block.sentence_marks >= 1):
        return _GOOD
    if block.length >= 35 and weak_prose and block.words >= 5 and (block.ends_sentence or block.sentence_marks):
        return _NEAR
    return _SHORT


def _mark_tables(blocks: list[_Block]) -> None:
    """Runs of consecutive multi-cell lines are table rows (unless a row reads as prose or furniture)."""
    i = 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and blocks[j].cells >= 2:
            j += 1
        if j - i >= _TABLE_MIN_ROWS:
            for block in blocks[i:j]:
                if block.kind in (_SHORT, _NEAR):
                    block.kind = _TABLE
        i = max(j, i + 1)


def _mark_repeats(blocks: list[_Block]) -> None:
    """Lines that repeat are furniture: a short line seen three times or more (a share bar under every item),
    and a long block that starts with an earlier block (a summary or a metadata field repeating the article)."""
    counts: dict[str, int] = {}
    for block in blocks:
        if block.words <= 10:
            counts[block.text] = counts.get(block.text, 0) + 1
    earlier_by_prefix: dict[str, str] = {}
    for block in blocks:
        if block.words <= 10 and counts.get(block.text, 0) >= 3 and block.kind == _SHORT:
            block.kind = _BAD
            continue
        if block.length < _REPEAT_MIN_CHARS:
            continue
        prefix = block.text[:_REPEAT_MIN_CHARS]
        earlier = earlier_by_prefix.get(prefix)
        if earlier is not None and block.text.startswith(earlier):
            block.kind = _BAD
        else:
            earlier_by_prefix.setdefault(prefix, block.text)


def _has_headline_lead(text: str) -> bool:
    """Starts like an English-style Title Case headline: mostly capitalised words, function words among them
    mid-sentence ("Is Violence In Sports On The Rise?"), which running prose never has twice in a dozen words."""
    tokens = [token.strip("\"'“‘(") for token in text.split(None, 13)[:12]]
    if len(tokens) < 6 or text[:60].isupper():
        return False
    capitalised = sum(1 for token in tokens if token[:1].isupper())
    capitalised_function_words = sum(
        1
        for previous, token in zip(tokens, tokens[1:])
        if token[:1].isupper() and token.lower() in _HEADLINE_FUNCTION_WORDS and not previous.endswith((".", ":", "!", "?"))
    )
    return capitalised_function_words >= 2 and capitalised >= 0.75 * len(tokens)


# A whole lower-case word (or closing punctuation) run straight into a capitalised word: where a converter
# glued a teaser's headline link to its excerpt ("...At Troy SteakhouseA party of six left..."). Camel-case
# names glue a short part (McDonald, MacBook, iPhone, YouTube), so the left part must be a word of its own.
_GLUE_POINT = re.compile(r"(?:(?<![A-Za-z])[A-Z]?[a-z]{5,}|[a-z][?!’”\")])(?=[A-Z][a-z])")


def _has_glued_headline(text: str) -> bool:
    """Starts with a Title Case headline glued to the next sentence without a space, as teaser cards flatten
    ("Customers Leave Without Paying $690 Bill At Troy SteakhouseA party of six..."). Running prose has a
    space after every word, and camel-case names (McDonald, iPhone) rarely follow three Title Case words."""
    for glue in _GLUE_POINT.finditer(text, 0, 200):
        words = [word.lstrip("\"'“‘(¿¡$") for word in text[: glue.end()].split()]
        words = [word for word in words if word[:1].isalpha()]
        if len(words) >= 4 and sum(1 for word in words if word[:1].isupper()) >= 0.8 * len(words):
            return True
    return False


def _demote_inline_breaks(blocks: list[_Block]) -> None:
    """A "Related articles" box inside an article (prose just before it and again a few lines after) is
    furniture to skip, not the end of the article."""
    for i, block in enumerate(blocks):
        if block.kind != _BREAK:
            continue
        prose_before = any(b.kind == _GOOD for b in blocks[max(0, i - 4) : i])
        prose_after = any(b.kind == _GOOD for b in blocks[i + 1 : i + 9])
        if prose_before and prose_after:
            block.kind = _BAD


def _mark_teasers(blocks: list[_Block]) -> None:
    """A heading-like line followed by a short excerpt that trails off ("...", "…") is a teaser."""
    for i in range(len(blocks) - 1):
        title, excerpt = blocks[i], blocks[i + 1]
        if _is_teaser_pair(title, excerpt):
            title.kind = _TEASER
            excerpt.kind = _TEASER


def _mark_excerpt_lists(blocks: list[_Block]) -> None:
    """Three or more blocks in a row that each trail off ("...", "…") are a list of story excerpts (headline and
    excerpt on one line), not paragraphs: an article ends a paragraph that way once in a while, not every time."""
    i = 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and blocks[j].words <= 80 and _ELLIPSIS_END.search(blocks[j].text):
            j += 1
        if j - i >= _EXCERPT_LIST_MIN:
            for block in blocks[i:j]:
                block.kind = _TEASER
        i = max(j, i + 1)


def _mark_dated_cards(blocks: list[_Block]) -> None:
    """A list of story cards (headline, author, date, one summary paragraph) repeated down the page: a lone
    prose block right after a date line, three times or more, is a card's summary, not the article. The
    article's own first paragraph is followed by more prose, so it is never lone."""
    prose = (_GOOD, _NEAR)
    cards = []
    for i in range(1, len(blocks)):
        block = blocks[i]
        if block.kind not in prose or (i + 1 < len(blocks) and blocks[i + 1].kind in prose):
            continue
        if any(_is_date_line(b.text) for b in blocks[max(0, i - 2) : i]) and blocks[i - 1].kind not in prose:
            cards.append(i)
    if len(cards) >= _DATED_CARDS_MIN:
        for i in cards:
            blocks[i].kind = _TEASER


def _mark_read_more_excerpts(blocks: list[_Block]) -> None:
    """In a list of stories each excerpt is followed by a "Read more" link: when that happens twice or more,
    the prose before each such link is a teaser excerpt, however well written."""
    links = [i for i, block in enumerate(blocks) if _READ_MORE.match(block.text.strip(" .:-–—|•·>»()[]"))]
    if len(links) < 2:
        return
    for i in links:
        if i > 0 and blocks[i - 1].kind in (_GOOD, _NEAR):
            blocks[i - 1].kind = _TEASER


def _is_teaser_pair(title: _Block, excerpt: _Block) -> bool:
    return (
        excerpt.words <= 70
        and bool(_ELLIPSIS_END.search(excerpt.text))
        and _is_heading_like(title)
        and not _ELLIPSIS_END.search(title.text)
    )


def _promote_between_prose(blocks: list[_Block]) -> None:
    """Short prose ("Please.", a one-line quote) between two prose blocks is body too (jusText's idea)."""
    prose = (_GOOD, _NEAR)
    for i in range(1, len(blocks) - 1):
        block = blocks[i]
        if block.kind == _SHORT and block.ends_sentence and blocks[i - 1].kind in prose and blocks[i + 1].kind in prose:
            block.kind = _NEAR


def _is_heading_like(block: _Block) -> bool:
    """A line that could be a headline: a few words, no sentence ending, not furniture."""
    if block.kind in (_BAD, _BREAK, _COMMENT):
        return False
    text = block.text
    if not (2 <= block.words <= 30) or len(text) > 250:
        return False
    if text.endswith((".", ",", ";", ":")) and not text.endswith("..."):
        return False
    if _BYLINE.match(text) or _URL.search(text):
        return False
    return not _is_date_line(text)


# -------------------------------------------------------------------------------------------------- the body


def _best_run(blocks: list[_Block]) -> tuple[int, int]:
    """The contiguous run of blocks with the largest total value, as (start, end) with end exclusive."""
    best_sum, best_start, best_end = 0.0, 0, 0
    running, run_start = 0.0, 0
    prose_seen, weight = 0.0, 1.0
    thread_start = _comment_thread_start(blocks)
    for i, block in enumerate(blocks):
        if block.kind == _GOOD:
            prose_seen += block.length
        elif block.kind == _BREAK and prose_seen >= _PROSE_BEFORE_BREAK:
            weight = min(weight, _AFTER_BREAK_WEIGHT)
        if i == thread_start:
            weight = _COMMENT_THREAD_WEIGHT
        if running <= 0:
            running, run_start = 0.0, i
        value = block.value
        if value > 0:
            value *= weight * (1.0 - _LATE_PAGE_DISCOUNT * i / len(blocks))
        running += value
        if running > best_sum:
            best_sum, best_start, best_end = running, run_start, i + 1
    return best_start, best_end


def _comment_thread_start(blocks: list[_Block]) -> int | None:
    """Where a thread of reader comments starts (its section header when there is one close before), if the
    page has one after some prose."""
    headers = [i for i, block in enumerate(blocks) if block.kind == _COMMENT]
    if len(headers) < 2:
        return None
    first = headers[0]
    if not any(block.kind == _GOOD for block in blocks[:first]):
        return None
    for i in range(first - 1, max(-1, first - 8), -1):
        if blocks[i].kind == _BREAK:
            return i
    return first


def _body_paragraphs(blocks: list[_Block], start: int, end: int) -> list[str]:
    """The run's blocks minus furniture inside it; nothing when the run holds no prose at all."""
    run = blocks[start:end]
    if not any(b.kind == _GOOD for b in run) and sum(b.kind == _NEAR for b in run) < 2:
        return []
    paragraphs: list[str] = []
    for block in run:
        if block.kind in (_BAD, _BREAK, _TEASER, _COMMENT):
            continue
        if paragraphs and paragraphs[-1] == block.text:
            continue  # a line repeated at once (caption and alt text, pull quote) is said once
        paragraphs.append(block.text)
    return paragraphs


# ------------------------------------------------------------------------------------------- title and date


def _title_index(blocks: list[_Block], body_start: int) -> int | None:
    """The best headline before the body: heading-like, close to the body, ideally repeated on the page
    (a flattened page often starts with its <title>, which holds the headline plus the site's name)."""
    first_line = blocks[0].text.casefold()
    best, best_score = None, 0.0
    window_start = max(0, body_start - 40)
    for i in range(window_start, body_start):
        block = blocks[i]
        if block.kind == _TEASER or not _is_heading_like(block):
            continue
        if _BOILERPLATE_LINE.match(block.text.strip(" .:-–—|•·>»!")):
            continue
        distance = body_start - i
        score = 1.0 / (1.0 + distance / 4.0)
        folded = block.text.casefold()
        if i > 0 and len(folded) >= 15 and folded in first_line:
            score += 1.5
        elif any(len(folded) >= 15 and folded in other.text.casefold() for other in blocks[window_start:i]):
            score += 1.0
        if 4 <= block.words <= 25:
            score += 0.5
        if block.text[:1].isupper() or not block.text[:1].isalpha():
            score += 0.2
        if score > best_score:
            best, best_score = i, score
    return best


def _is_date_line(text: str) -> bool:
    return len(text) <= _DATE_LINE_MAX_CHARS and (bool(_DATE_LABEL.match(text)) or _mostly_date(text))


def _mostly_date(text: str) -> bool:
    """A line that is a date and little else (few letters besides month and weekday names)."""
    if len(text) > _DATE_LINE_MAX_CHARS or not any(ch.isdigit() for ch in text):
        return False
    return parse_date_text(text) is not None and len(_WORD.findall(text)) <= 9


def _published_date(
    blocks: list[_Block], start: int, end: int, title_index: int | None
) -> tuple[datetime | None, float]:
    """A publication date written on the page near the headline or the body, with a confidence.

    Only short lines are read (a date inside a paragraph is usually about something else): labelled ones
    ("Published: ...", "Date: ...", also with the date on the next line) first, then a bare date line next to
    the title or the start of the body. "Updated" dates count less than publication dates.
    """
    anchor = title_index if title_index is not None else start
    candidates: list[tuple[float, int, datetime]] = []
    window = list(range(max(0, anchor - 8), min(len(blocks), start + 3)))
    window += list(range(max(start + 3, end - 2), min(len(blocks), end + 4)))
    for i in window:
        text = blocks[i].text
        if len(text) > 160:
            continue
        label = _DATE_LABEL.match(text)
        if label:
            value = parse_date_text(text[label.end():])
            if value is None and not text[label.end():].strip(" :") and i + 1 < len(blocks):
                following = blocks[i + 1].text
                value = parse_date_text(following) if len(following) <= _DATE_LINE_MAX_CHARS else None
            if value is not None:
                updated = bool(_UPDATED_LABEL.search(label.group("label")))
                candidates.append((0.5 if updated else 0.75, abs(i - anchor), value))
        elif _mostly_date(text):
            candidates.append((0.55 if i < end else 0.35, abs(i - anchor), parse_date_text(text)))  # type: ignore[arg-type]
    if not candidates:
        return None, 0.0
    confidence, _, value = max(candidates, key=lambda c: (c[0], -c[1]))
    return value, confidence


# ------------------------------------------------------------------------------------------ teasers, language


def _teasers(blocks: list[_Block], start: int, end: int) -> list[Teaser]:
    """(title, excerpt...) pairs outside the body, the ones after it first, without repeats."""
    teasers: list[Teaser] = []
    seen: set[str] = set()
    order = list(range(end, len(blocks) - 1)) + list(range(0, max(0, start - 1)))
    for i in order:
        title, excerpt = blocks[i], blocks[i + 1]
        if title.kind != _TEASER or excerpt.kind != _TEASER or not _is_teaser_pair(title, excerpt):
            continue
        key = title.text.casefold()
        if key in seen:
            continue
        seen.add(key)
        clean_excerpt = _ELLIPSIS_END.sub("", excerpt.text).rstrip(" ,;:-–—，、；：")
        teasers.append(Teaser(title=title.text, excerpt=clean_excerpt))
    return teasers


def _language_of(body: list[_Block]) -> str | None:
    """A cheap guess from script and stop words; None when unsure (a language stage can do better)."""
    sample = " ".join(b.text for b in body if b.kind in (_GOOD, _NEAR))[:20_000]
    if not sample:
        return None
    cjk = len(_CJK.findall(sample))
    if cjk >= 50:
        if len(_HANGUL.findall(sample)) > cjk / 2:
            return "ko"
        return "ja" if len(_KANA.findall(sample)) > cjk / 10 else "zh"
    words = [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", sample))]
    counts = sorted(((sum(1 for w in words if w in stop), lang) for lang, stop in _STOPWORDS.items()), reverse=True)
    (top, lang), (second, _) = counts[0], counts[1]
    if top >= 8 and top >= 1.6 * second and top >= 0.15 * len(words):
        return lang
    return None
