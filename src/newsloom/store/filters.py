"""SQL conditions for a parsed query's field filters, shared by the SQLite and PostgreSQL stores.

Every value is a bound parameter: the SQL text is built only from constants, so nothing a user types reaches the
database as SQL. ``placeholder`` is the driver's marker ("?" for sqlite3, "%s" for psycopg); the fragments hold no
literal "%", so they are safe under psycopg's formatting.
"""

from __future__ import annotations

from datetime import date

from ..search import Query

__all__ = ["filter_conditions", "like_escaped", "entity_boost_names", "has_indexed_filter", "estimated_matches"]


def like_escaped(value: str) -> str:
    """``value`` with LIKE's wildcards escaped (the conditions declare ESCAPE '\\')."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _any_of(conditions: list[str]) -> str:
    return "(" + " OR ".join(conditions) + ")"


def filter_conditions(query: Query, placeholder: str) -> tuple[list[str], list[object]]:
    """(conditions on table alias ``a``, their parameters): ANDed by the caller."""
    p = placeholder
    filters = query.filters
    conditions: list[str] = []
    params: list[object] = []
    for name in filters.entities:
        conditions.append(f"a.id IN (SELECT e.article_id FROM article_entities e WHERE e.name = {p})")
        params.append(name)
    if filters.sites:
        # Sites as the store keeps them (host without "www."): equality, so the (site, sort_time) index serves it.
        conditions.append(_any_of([f"a.site = {p}" for _ in filters.sites]))
        params += filters.sites
    if filters.authors:
        conditions.append(_any_of([f"lower(a.author) LIKE {p} ESCAPE '\\'" for _ in filters.authors]))
        params += ["%" + like_escaped(author) + "%" for author in filters.authors]
    if filters.languages:
        conditions.append(_any_of([f"(lower(a.language) = {p} OR lower(a.language) LIKE {p} ESCAPE '\\')"
                                   for _ in filters.languages]))
        for language in filters.languages:
            params += [language, like_escaped(language) + "-%"]
    if filters.stories:
        # A story merged into another is found under the survivor's id (the store flattens redirect chains).
        conditions.append(_any_of([
            f"a.story_id = COALESCE((SELECT r.merged_into FROM story_redirects r WHERE r.id = {p}), {p})"
            for _ in filters.stories
        ]))
        for story in filters.stories:
            params += [story, story]
    # sort_time is UTC ISO text, so comparing text compares instants; a bare day sorts before that day's times.
    if filters.after is not None:
        conditions.append(f"a.sort_time >= {p}")
        params.append(_day(filters.after))
    if filters.before is not None:
        conditions.append(f"a.sort_time < {p}")
        params.append(_day(filters.before))
    return conditions, params


def has_indexed_filter(query: Query) -> bool:
    """Whether an index narrows the query's filters (entity, site, story, date range) before any text is scored.
    Author and language filters are not indexed (substring and prefix matches), so they only ever check rows."""
    filters = query.filters
    return bool(filters.entities or filters.sites or filters.stories or filters.after or filters.before)


def estimated_matches(query: Query, document_frequency: dict[str, int]) -> int:
    """An upper bound of the articles the query's words match, from each token's document frequency: clauses are
    ANDed (the smallest bounds them), alternatives ORed (they add up), a phrase is bounded by its rarest word."""
    def term_bound(tokens: tuple[str, ...]) -> int:
        return min(document_frequency.get(token, 0) for token in tokens)

    return min(sum(term_bound(term.tokens) for term in clause) for clause in query.clauses)


def _day(day: date) -> str:
    return day.isoformat()


def entity_boost_names(query: Query) -> list[str]:
    """Lower-cased texts an entity's name may equal for the entity boost: each term of the query ("netanyahu",
    "benjamin netanyahu") and all its words in a row, so "benjamin netanyahu" unquoted boosts that entity too."""
    names = {" ".join(term.tokens) for clause in query.clauses for term in clause}
    if len(query.clauses) > 1 and all(len(clause) == 1 for clause in query.clauses):
        names.add(" ".join(token for clause in query.clauses for token in clause[0].tokens))
    return sorted(names)


# Relevance: within the best ENTITY_BOOST_WINDOW full-text matches, an article mentioning an entity the query names
# scores (1 + ENTITY_BOOST) times its text score. A window keeps the boost's cost fixed however many articles match.
ENTITY_BOOST = 0.5
ENTITY_BOOST_WINDOW = 200
_SNIPPET_WORDS = 32

# Query plans (SQLite): BM25 costs about 2 microseconds per matching article, so a query matching more than
# EXACT_MATCH_LIMIT articles is not scored in full. For a word in at least TOP_DOCS_MIN_DOCS articles the store
# keeps its TOP_DOCS_PER_TERM best-scoring articles (refresh_search_index); a one-word query ranks those plus the
# articles added or changed since. That is the full ranking's head (BM25 drifts a little as the corpus grows between
# refreshes) when enough listed articles pass the filters; otherwise the store scores every match after all.
EXACT_MATCH_LIMIT = 10_000
TOP_DOCS_MIN_DOCS = 10_000
TOP_DOCS_PER_TERM = 4_000


def opening_words(body: str, words: int = _SNIPPET_WORDS) -> str:
    """The snippet of a hit found by filters alone (no word to centre on): the opening words of the text."""
    split = body.split()
    return " ".join(split[:words]) + (" …" if len(split) > words else "")
