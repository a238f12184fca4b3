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
