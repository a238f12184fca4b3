"""The query language shared by the CLI, the API and the reader.

    words              all must match             gaza ceasefire
    "exact phrase"     the words in that order    "security council"
    a OR b             either                     rafah OR gaza
    -word, -"phrase"   must not match             gaza -football
    entity:NAME        mentions that entity       entity:"Benjamin Netanyahu"   (the canonical name, exactly)
    site:HOST          from that site             site:bbc.co.uk                (www. is dropped, as stored)
    author:TEXT        author holds that text     author:"jane smith"           (case-insensitive)
    lang:CODE          in that language           lang:en                       (also matches en-GB)
    story:ID           in that story              story:s-1234
    after:YYYY-MM-DD   on or after that day       after:2024-03-01              (publication date, else ingest)
    before:YYYY-MM-DD  before that day            before:2024-04-01
    sort:date          newest first               sort:relevance is the default when there are words

Filters of one field are alternatives (``site:a site:b`` is either site), except ``entity:``, whose values must all be
mentioned. Filters combine with words; a query of filters only is valid (``site:x.com sort:date``).

A query is parsed into a ``Query`` and then rendered for a backend (FTS5 here, tsquery in the PostgreSQL store);
user text never reaches the backend's own syntax, and filter values only ever reach SQL as bound parameters
(store/filters.py), so a stray quote, bracket or unknown field gets a clear ``QueryError``, never a database error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from .errors import QueryError

__all__ = [
    "Query", "Term", "Filters", "FIELDS", "SORTS", "parse_query", "to_fts5_query", "fts5_match", "fts5_excluded",
    "MAX_QUERY_LENGTH", "query_tokens",
]

MAX_QUERY_LENGTH = 1000
MAX_FILTER_VALUE_LENGTH = 200
FIELDS = ("entity", "site", "author", "lang", "story", "after", "before", "sort")
SORTS = ("relevance", "date")
_WORD = re.compile(r"\w+", re.UNICODE)
# "name:" at the start of a bare word: a field filter (or an unknown field, which is an error, not a search for it).
_FIELD_PREFIX = re.compile(r"([A-Za-z]+):")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Term:
    """One search term: a word or a phrase, as a tuple of normalised tokens."""

    tokens: tuple[str, ...]

    @property
    def is_phrase(self) -> bool:
        return len(self.tokens) > 1


@dataclass(slots=True)
class Filters:
    """Field filters: values of one field are ORed, except entities (all must be mentioned)."""

    entities: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)  # casefolded
    languages: list[str] = field(default_factory=list)  # lower case
    stories: list[str] = field(default_factory=list)
    after: date | None = None  # inclusive
    before: date | None = None  # exclusive

    def __bool__(self) -> bool:
        return bool(self.entities or self.sites or self.authors or self.languages or self.stories
                    or self.after or self.before)


@dataclass(slots=True)
class Query:
    """Clauses are ANDed; each clause is a list of alternatives (ORed). ``excluded`` terms must not match."""

    clauses: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"  # "relevance" | "date"; without words, relevance means newest first too

    @property
    def has_words(self) -> bool:
        return bool(self.clauses)


def query_tokens(text: str) -> tuple[str, ...]:
    """The words of ``text`` as a query sees them: NFKC, case-folded, runs of word characters."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return tuple(_WORD.findall(folded))


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    """The text between the quote at ``i`` and its closing quote, and the index after it."""
    end = text.find('"', i + 1)
    if end == -1:
        raise QueryError(f'unclosed quote at position {i + 1}: add a closing "', position=i)
    return text[i + 1 : end], end + 1


def _lex(text: str) -> list[tuple[str, str, int]]:
    """Split a query into (kind, value, position) with kind in word / phrase / or / not-word / not-phrase /
    field:NAME / not-field:NAME."""
    items: list[tuple[str, str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        negated = char == "-" and i + 1 < len(text) and not text[i + 1].isspace()
        start = i
        if negated:
            i += 1
        if text[i] == '"':
            value, i = _read_quoted(text, i)
            items.append(("not-phrase" if negated else "phrase", value, start))
            continue
        prefix = _FIELD_PREFIX.match(text, i)
        if prefix:
            name = prefix.group(1)
            i = prefix.end()
            if i < len(text) and text[i] == '"':
                value, i = _read_quoted(text, i)
            else:
                end = i
                while end < len(text) and not text[end].isspace() and text[end] != '"':
                    end += 1
                value, i = text[i:end], end
            items.append((("not-field:" if negated else "field:") + name, value, start))
            continue
        end = i
        while end < len(text) and not text[end].isspace() and text[end] != '"':
            end += 1
        word = text[i:end]
        if word == "OR" and not negated:
            items.append(("or", word, start))
        else:
            items.append(("not-word" if negated else "word", word, start))
        i = end
    return items


def _parse_day(name: str, value: str, position: int) -> date:
    if _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise QueryError(f"{name}: at position {position + 1} needs a date as YYYY-MM-DD, not {value!r}", position=position)


def _add_filter(query: Query, kind: str, value: str, position: int) -> None:
    """Check one ``field:value`` and record it on the query."""
    name = kind.split(":", 1)[1]
    where = f"at position {position + 1}"
    if kind.startswith("not-"):
        raise QueryError(f"-{name}: {where}: filters cannot be negated", position=position)
    if name.lower() not in FIELDS:
        raise QueryError(
            f"unknown field {name}: {where}; the fields are {', '.join(f + ':' for f in FIELDS)} "
            f'(put it in quotes, "{name}:{value}", to search for the text)',
            position=position,
        )
    name = name.lower()
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        raise QueryError(f"{name}: {where} has no value", position=position)
    if len(value) > MAX_FILTER_VALUE_LENGTH:
        raise QueryError(f"{name}: {where} is longer than {MAX_FILTER_VALUE_LENGTH} characters", position=position)
    filters = query.filters
    if name == "entity":
        filters.entities.append(" ".join(value.split()))
    elif name == "site":
        site = value.lower().rstrip(".").removeprefix("www.")
        if not site or any(c.isspace() or c in "/?#" for c in site):
            raise QueryError(f"site: {where} needs a host name such as bbc.co.uk, not {value!r}", position=position)
        filters.sites.append(site)
    elif name == "author":
        filters.authors.append(" ".join(value.casefold().split()))
    elif name == "lang":
        if not _LANGUAGE.fullmatch(value.lower()):
            raise QueryError(f"lang: {where} needs a language code such as en or pt-br, not {value!r}", position=position)
        filters.languages.append(value.lower())
    elif name == "story":
        filters.stories.append(value)
    elif name in ("after", "before"):
        if getattr(filters, name) is not None:
            raise QueryError(f"{name}: {where} is given twice", position=position)
        setattr(filters, name, _parse_day(name, value, position))
    else:  # sort
        if value.lower() not in SORTS:
            raise QueryError(f"sort: {where} is sort:relevance or sort:date, not {value!r}", position=position)
        query.sort = value.lower()


def parse_query(text: str) -> Query:
    """Parse a user query. Raises ``QueryError`` pointing at the problem."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}")
    query = Query()
    pending_or: int | None = None  # position of an OR waiting for its right-hand term
    for kind, value, position in _lex(text):
        if kind == "or":
            if not query.clauses or pending_or is not None:
                raise QueryError(f"OR at position {position + 1} needs a term on both sides", position=position)
            pending_or = position
            continue
        if "field:" in kind:
            if pending_or is not None:
                raise QueryError(f"OR at position {pending_or + 1} needs a term after it, not a filter",
                                 position=pending_or)
            _add_filter(query, kind, value, position)
            continue
        tokens = query_tokens(value)
        if not tokens:
            if kind.endswith("phrase"):
                raise QueryError(f"empty phrase at position {position + 1}", position=position)
            continue  # punctuation alone matches nothing; ignore it as search engines do
        term = Term(tokens)
        if kind.startswith("not-"):
            query.excluded.append(term)
            continue
        if pending_or is not None:
            query.clauses[-1].append(term)
            pending_or = None
        else:
            query.clauses.append([term])
    if pending_or is not None:
        raise QueryError("OR at the end of the query needs a term after it", position=len(text))
    dates = query.filters
    if dates.after and dates.before and dates.after >= dates.before:
        raise QueryError(f"after:{dates.after} is not before before:{dates.before}: no day is in between")
    if not query.clauses and not query.filters:
        raise QueryError("the query has no words to search for" + (" (only exclusions)" if query.excluded else ""))
    return query


def _fts5_term(term: Term) -> str:
    # Every token is quoted, so FTS5 operators and column filters typed by the user are plain words.
    return '"' + " ".join(term.tokens) + '"'


def fts5_match(query: Query) -> str | None:
    """The FTS5 MATCH expression of the query's words and exclusions; None for a query of filters only."""
    clauses = []
    for alternatives in query.clauses:
        rendered = " OR ".join(_fts5_term(term) for term in alternatives)
        clauses.append(f"({rendered})" if len(alternatives) > 1 else rendered)
    if not clauses:
        return None
    expression = " AND ".join(clauses)
    if query.excluded:
        expression = f"({expression}) NOT ({fts5_excluded(query)})"
    return expression


def fts5_excluded(query: Query) -> str | None:
    """An FTS5 expression matching any excluded term (for filter-only queries, which exclude by rowid)."""
    return " OR ".join(_fts5_term(t) for t in query.excluded) or None


def to_fts5_query(text: str) -> str:
    """The FTS5 MATCH expression for a user query ("" when it holds filters only)."""
    return fts5_match(parse_query(text)) or ""
