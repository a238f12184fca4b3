"""Bytes to text: BOMs, HTTP and in-page charsets, mislabelled pages, detection, binary refusal."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsloom.errors import DecodeError
from newsloom.extract.decode import declared_charset, decode_bytes

TEXT = "Zürich café: «Grüße» — 東京 ✓"


@pytest.mark.parametrize(
    "bom, encoding",
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_byte_order_mark_wins(bom, encoding):
    content = bom + TEXT.encode(encoding)
    assert decode_bytes(content, {"Content-Type": "text/html; charset=iso-8859-1"}) == TEXT


def test_http_charset_is_used_case_insensitively():
    content = "Grüße aus Köln".encode("iso-8859-15")
    assert decode_bytes(content, {"content-TYPE": 'text/html; charset="ISO-8859-15"'}) == "Grüße aus Köln"


def test_meta_charset_and_http_equiv():
    koi8 = "<meta charset='koi8-r'><p>Привет, мир</p>".encode("koi8-r")
    assert "Привет, мир" in decode_bytes(koi8)
    shift_jis = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><p>日本語のページ</p>'.encode("shift_jis")
    assert "日本語のページ" in decode_bytes(shift_jis)
    assert declared_charset(shift_jis) == "shift_jis"


def test_latin1_label_means_windows_1252():
    content = "“quoted” – dash".encode("cp1252")
    assert decode_bytes(content, {"Content-Type": "text/html; charset=iso-8859-1"}) == "“quoted” – dash"


def test_utf8_labelled_as_latin1_is_read_as_utf8():
    content = "<meta charset='iso-8859-1'><p>Café déjà vu</p>".encode("utf-8")
    assert "Café déjà vu" in decode_bytes(content)


def test_undeclared_non_utf8_falls_back_to_detection():
    content = ("<p>" + "Ceci est une phrase en français, avec des accents: é, è, à, ç. " * 20 + "</p>").encode("cp1252")
    assert "français" in decode_bytes(content)


def test_utf8_cut_in_the_middle_of_a_character_still_decodes():
    content = "Grüße aus München".encode("utf-8")
    assert decode_bytes(content[:-1]).startswith("Grüße aus Münche")
    assert decode_bytes("北京".encode("utf-8")[:-1]) == "北"


def test_binary_content_is_refused():
    with pytest.raises(DecodeError):
        decode_bytes(bytes(range(256)) * 100)
    with pytest.raises(DecodeError):
        decode_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x01\x02\x03" * 2000)


def test_unknown_declared_charset_is_ignored():
    assert decode_bytes("<meta charset='no-such-charset'>olá".encode("utf-8")).endswith("olá")


def test_empty_and_str_input():
    assert decode_bytes(b"") == ""
    assert decode_bytes("already text") == "already text"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_text_or_decode_error(content):
    try:
        assert isinstance(decode_bytes(content), str)
    except DecodeError:
        pass


def test_utf8_encoded_twice_is_repaired_only_when_proven():
    page = "<meta charset='utf-8'><p>itertools — Funktionen für Schleifen</p>"
    doubled = page.encode("utf-8").decode("latin-1").encode("utf-8")
    assert decode_bytes(doubled) == page
    # "Ã©" written on purpose, with no C1 control character anywhere: nothing proves double encoding.
    honest = "<p>Grüße, and the two characters Ã© as they are</p>"
    assert decode_bytes(honest.encode("utf-8")) == honest


def test_the_package_exports_do_not_hide_its_subpackages() -> None:
    import importlib

    import newsloom

    dates = importlib.import_module("newsloom.extract.dates")
    exec("import newsloom.extract.dates as by_path", namespace := {})  # the form a user writes
    assert namespace["by_path"] is dates
    assert all(hasattr(newsloom, name) for name in newsloom.__all__)
    article = newsloom.extract_document(newsloom.RawDocument(
        source="t.html", content=b"<html><head><title>T</title></head><body><article><p>" + b"Words here. " * 30
        + b"</p></article></body></html>", content_type="text/html"))
    assert "Words here." in article.text


# The edges of both ranges and their neighbours, so matches and near misses are both common.
_EDGES = "a\u00c1\u00c2\u00c3\u00e2\u00f4\u00f5\u007f\u0080\u009f\u00a0\u00e9\u2019\u0100"


@given(st.text(alphabet=st.sampled_from(_EDGES), max_size=12))
def test_the_byte_level_double_encoding_check_agrees_with_the_text_level_one(text: str) -> None:
    from newsloom.extract.decode import _DOUBLE_ENCODED_EVIDENCE, _DOUBLE_ENCODED_EVIDENCE_UTF8

    in_text = _DOUBLE_ENCODED_EVIDENCE.search(text) is not None
    assert (_DOUBLE_ENCODED_EVIDENCE_UTF8.search(text.encode("utf-8")) is not None) == in_text
