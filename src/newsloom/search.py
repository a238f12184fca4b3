"""The query language shared by the CLI, the API and the reader.

    words              all must match             gaza ceasefire
    "exact phrase"     the words in that order    "security council"
    a OR b             either                     rafah OR gaza
    -word, -"phrase"   must not match             gaza -football

A query is parsed into a ``Query`` and then rendered for a backend (FTS5 here); user text never reaches the
backend's own syntax, so a stray quote or bracket gets a clear ``QueryError``, never a database error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .errors import QueryError

__all__ = ["Query", "Term", "parse_query", "to_fts5_query", "MAX_QUERY_LENGTH"]

MAX_QUERY_LENGTH = 1000
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Term:
    """One search term: a word or a phrase, as a tuple of normalised tokens."""

    tokens: tuple[str, ...]

    @property
    def is_phrase(self) -> bool:
        return len(self.tokens) > 1


@dataclass(slots=True)
class Query:
    """Clauses are ANDed; each clause is a list of alternatives (ORed). ``excluded`` terms must not match."""

    clauses: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)


def _tokens(text: str) -> tuple[str, ...]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return tuple(_WORD.findall(folded))


def _lex(text: str) -> list[tuple[str, str, int]]:
    """Split a query into (kind, value, position) with kind in word / phrase / or / not-word / not-phrase."""
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
            end = text.find('"', i + 1)
            if end == -1:
                raise QueryError(f'unclosed quote at position {i + 1}: add a closing "', position=i)
            items.append(("not-phrase" if negated else "phrase", text[i + 1 : end], start))
            i = end + 1
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


def parse_query(text: str) -> Query:
    """Parse a user query. Raises ``QueryError`` pointing at the problem."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}")
    query = Query()
    pending_or = False
    for kind, value, position in _lex(text):
        if kind == "or":
            if not query.clauses or pending_or:
                raise QueryError(f"OR at position {position + 1} needs a term on both sides", position=position)
            pending_or = True
            continue
        tokens = _tokens(value)
        if not tokens:
            if kind.endswith("phrase"):
                raise QueryError(f"empty phrase at position {position + 1}", position=position)
            continue  # punctuation alone matches nothing; ignore it as search engines do
        term = Term(tokens)
        if kind.startswith("not-"):
            query.excluded.append(term)
            continue
        if pending_or:
            query.clauses[-1].append(term)
            pending_or = False
        else:
            query.clauses.append([term])
    if pending_or:
        raise QueryError("OR at the end of the query needs a term after it", position=len(text))
    if not query.clauses:
        raise QueryError("the query has no words to search for" + (" (only exclusions)" if query.excluded else ""))
    return query


def _fts5_term(term: Term) -> str:
    # Every token is quoted, so FTS5 operators and column filters typed by the user are plain words.
    return '"' + " ".join(term.tokens) + '"'


def to_fts5_query(text: str) -> str:
    """The FTS5 MATCH expression for a user query."""
    query = parse_query(text)
    clauses = []
    for alternatives in query.clauses:
        rendered = " OR ".join(_fts5_term(term) for term in alternatives)
        clauses.append(f"({rendered})" if len(alternatives) > 1 else rendered)
    expression = " AND ".join(clauses)
    if query.excluded:
        expression = f"({expression}) NOT ({' OR '.join(_fts5_term(t) for t in query.excluded)})"
    return expression
