"""The query language: parsed the same everywhere, never passed raw to the database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsloom.errors import QueryError
from newsloom.search import MAX_QUERY_LENGTH, parse_query, to_fts5_query


def test_words_phrases_or_and_exclusions():
    query = parse_query('gaza "security council" rafah OR khan -football')
    assert [[t.tokens for t in clause] for clause in query.clauses] == [
        [("gaza",)],
        [("security", "council")],
        [("rafah",), ("khan",)],
    ]
    assert [t.tokens for t in query.excluded] == [("football",)]
    assert to_fts5_query("a OR b c") == '("a" OR "b") AND "c"'


@pytest.mark.parametrize(
    ("query", "fragment"),
    [('"open', "unclosed quote"), ("OR x", "OR at position 1"), ("x OR", "OR at the end"), ("-x", "only exclusions"),
     ('x ""', "empty phrase"), ("   ", "no words")],
)
def test_errors_say_what_is_wrong(query, fragment):
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert fragment in str(caught.value)


def test_overlong_query_is_refused():
    with pytest.raises(QueryError, match="limit"):
        parse_query("x " * MAX_QUERY_LENGTH)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_a_query_error(text):
    try:
        expression = to_fts5_query(text)
    except QueryError:
        return
    # Every token reaches FTS5 inside double quotes, so user text cannot form an FTS5 operator.
    inside = False
    for index, char in enumerate(expression):
        if char == '"':
            inside = not inside
        elif not inside:
            assert char in " ()ANDORT", f"unquoted {char!r} at {index} in {expression!r}"


# -- field filters and sort ------------------------------------------------------------------------------------------
from dataclasses import replace  # noqa: E402
from datetime import date  # noqa: E402

from newsloom.model import Article, EntityMention  # noqa: E402
from newsloom.search import FIELDS  # noqa: E402
from newsloom.store import SQLiteStore  # noqa: E402
from newsloom.store.filters import filter_conditions  # noqa: E402


def test_field_filters_combine_with_words():
    query = parse_query('ceasefire entity:"Benjamin  Netanyahu" site:WWW.BBC.co.uk author:"Jane Smith" lang:EN-gb '
                        "story:s-1 after:2024-03-01 before:2024-04-01 sort:date -football")
    assert [[t.tokens for t in clause] for clause in query.clauses] == [[("ceasefire",)]]
    assert [t.tokens for t in query.excluded] == [("football",)]
    f = query.filters
    assert (f.entities, f.sites, f.authors, f.languages, f.stories) == (
        ["Benjamin Netanyahu"], ["bbc.co.uk"], ["jane smith"], ["en-gb"], ["s-1"])
    assert (f.after, f.before, query.sort) == (date(2024, 3, 1), date(2024, 4, 1), "date")
    assert to_fts5_query('ceasefire site:x.com') == '"ceasefire"'  # filters never go into the MATCH expression


def test_a_query_of_filters_only_is_valid():
    query = parse_query("site:x.com sort:date")
    assert (query.clauses, query.filters.sites, query.sort) == ([], ["x.com"], "date")
    assert to_fts5_query("site:x.com sort:date") == ""
    assert parse_query("lang:en -football").excluded[0].tokens == ("football",)


@pytest.mark.parametrize(
    ("query", "fragment", "position"),
    [("gaza body:x", "unknown field body: at position 6", 5),
     ("site:", "site: at position 1 has no value", 0),
     ('x entity:""', "entity: at position 3 has no value", 2),
     ("after:2024-02-30", "needs a date as YYYY-MM-DD", 0),
     ("x before:yesterday", "before: at position 3 needs a date", 2),
     ("lang:english", "language code", 0),
     ("sort:popular", "sort:relevance or sort:date", 0),
     ("x -site:y.com", "cannot be negated", 2),
     ("x OR site:y.com", "OR at position 3 needs a term after it", 2),
     ("after:2024-03-02 after:2024-03-03", "given twice", 17),
     ("site:a/b", "host name", 0),
     ('entity:"open', "unclosed quote at position 8", 7)],
)
def test_malformed_filters_point_at_the_problem(query, fragment, position):
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert fragment in str(caught.value)
    assert caught.value.position == position


def test_empty_date_range_is_refused():
    with pytest.raises(QueryError, match="no day is in between"):
        parse_query("after:2024-04-01 before:2024-04-01")


def test_quoted_colon_text_is_a_phrase_and_times_are_words():
    assert parse_query('"re:invent"').clauses[0][0].tokens == ("re", "invent")
    assert parse_query("10:30").clauses[0][0].tokens == ("10", "30")


_QUERY_PIECES = st.sampled_from(
    [*(f + ":" for f in FIELDS), "body:", '"', "-", "OR", " ", "x", "gaza", "2024-03-01", "en", "date", "bbc.co.uk",
     "'", "%", "_", "\\", ";", "(", ")", "*", ":", "é", "\x00", "NEAR"]
)
_QUERIES = st.one_of(st.text(max_size=120), st.lists(_QUERY_PIECES, max_size=25).map("".join))


@settings(max_examples=400, deadline=None)
@given(_QUERIES)
def test_any_query_text_parses_or_fails_with_a_query_error(text):
    try:
        query = parse_query(text)
    except QueryError as exc:
        assert exc.position is None or 0 <= exc.position <= len(text)
        return
    assert query.clauses or query.filters
    assert query.sort in ("relevance", "date")


def _with_other_values(query):
    """The same query with every filter value swapped for another: the SQL text must not change."""
    f = query.filters
    other = replace(f, entities=["v"] * len(f.entities), sites=["v"] * len(f.sites), authors=["v"] * len(f.authors),
                    languages=["v"] * len(f.languages), stories=["v"] * len(f.stories),
                    after=date(2000, 1, 1) if f.after else None, before=date(2000, 1, 2) if f.before else None)
    return replace(query, filters=other)


@settings(max_examples=400, deadline=None)
@given(_QUERIES)
def test_filter_values_reach_sql_only_as_parameters(text):
    try:
        query = parse_query(text)
    except QueryError:
        return
    for placeholder in ("?", "%s"):
        conditions, params = filter_conditions(query, placeholder)
        sql = " AND ".join(conditions)
        assert sql.count(placeholder) == len(params)
        assert (sql, len(params)) == (" AND ".join(filter_conditions(_with_other_values(query), placeholder)[0]),
                                      len(params))


_STORE = SQLiteStore(":memory:")
_STORE.upsert_articles([
    Article(id=f"a{n}", title=f"Gaza report {n}", paragraphs=[f"Gaza x text {n} NEAR bbc"], url=f"https://bbc.co.uk/{n}",
            site="bbc.co.uk", language="en", entities=[EntityMention("Gaza", "GPE")])
    for n in range(3)
])


@settings(max_examples=300, deadline=None)
@given(_QUERIES)
def test_any_query_text_searches_or_fails_with_a_query_error_never_a_database_error(text):
    try:
        hits = _STORE.search(text, limit=5)
        facets = _STORE.search_facets(text)
    except QueryError:
        return
    assert len(hits) <= 3
    assert sum(f.count for f in facets.sites) <= 3
