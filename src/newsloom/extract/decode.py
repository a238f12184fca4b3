"""Bytes to text for fetched pages (HTML and flattened .txt).

Order of evidence, most to least reliable:

    byte-order mark  >  HTTP Content-Type charset  >  <meta charset> / http-equiv  >  strict UTF-8  >  detection

A declared single-byte charset (latin-1, cp1252...) never fails to decode, so a wrong declaration cannot be
caught by trying it. Pages that declare one but are valid multi-byte UTF-8 are read as UTF-8: random latin
text is practically never valid UTF-8 with multi-byte sequences, while mislabelled UTF-8 pages are common.
Text that still looks binary after all this (many control characters) raises ``DecodeError``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from ..errors import DecodeError

__all__ = ["decode_bytes", "declared_charset", "header_value"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"<meta[^>]+?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE
)
# WHATWG: these labels mean windows-1252 in browsers, and pages rely on it (curly quotes in 0x80-0x9F).
_SINGLE_BYTE_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}
_UTF16_FAMILY = frozenset({"utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_DETECTION_WINDOW = 256 * 1024  # enough bytes to detect reliably without reading a huge file twice
_MAX_CONTROL_SHARE = 0.02


def header_value(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value looked up case-insensitively (HTTP header names are not case-sensitive)."""
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _normalize_charset(label: str) -> str | None:
    label = label.strip().strip("\"'").lower()
    label = _SINGLE_BYTE_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charset(content: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """The charset the HTTP header or the page itself declares, as a Python codec name, or None."""
    content_type = header_value(headers, "content-type")
    if content_type:
        match = _HEADER_CHARSET.search(content_type)
        if match:
            charset = _normalize_charset(match.group(1))
            if charset:
                return charset
    match = _META_CHARSET.search(content[:4096])
    if match:
        return _normalize_charset(match.group(1).decode("ascii", "ignore"))
    return None


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    return len(_CONTROL.findall(sample)) > _MAX_CONTROL_SHARE * len(sample)


def _checked(text: str) -> str:
    if _looks_binary(text):
        raise DecodeError("the content looks binary, not text (too many control characters)")
    return text


# UTF-8 that was decoded as Latin-1 and encoded again ("â\x80\x94" for "—"): a lead byte's character followed
# by a C1 control character never occurs in real text, so it proves the page double-encoded.
_DOUBLE_ENCODED_EVIDENCE = re.compile("[\u00c2-\u00f4][\u0080-\u009f]")
# The same evidence in the UTF-8 bytes (U+00C2-U+00F4 is C3 82-B4, U+0080-U+009F is C2 80-9F): a search that starts
# from a literal byte runs about ten times faster than the character-class scan of the decoded text.
_DOUBLE_ENCODED_EVIDENCE_UTF8 = re.compile(rb"\xc3[\x82-\xb4]\xc2[\x80-\x9f]")
_DOUBLE_ENCODED_SEQUENCE = re.compile("[\u00c2-\u00df][\u0080-\u00bf]|[\u00e0-\u00ef][\u0080-\u00bf]{2}|[\u00f0-\u00f4][\u0080-\u00bf]{3}")


def _undo_double_encoding(text: str) -> str:
    """Repair characters a publisher's pipeline encoded to UTF-8 twice, only when the page proves it did."""
    if not _DOUBLE_ENCODED_EVIDENCE.search(text):
        return text

    def repaired(match: re.Match[str]) -> str:
        try:
            return match.group(0).encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0)

    return _DOUBLE_ENCODED_SEQUENCE.sub(repaired, text)


def _strict_utf8(content: bytes) -> str | None:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        # A page cut off mid-character is still UTF-8: accept one incomplete sequence at the very end.
        if error.reason == "unexpected end of data" and error.end == len(content) and error.start >= len(content) - 3:
            return content[: error.start].decode("utf-8")
        return None


def _detect(content: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(content[:_DETECTION_WINDOW]).best()
    if best is None or not best.encoding:
        return None
    try:
        return content.decode(best.encoding, "replace")
    except LookupError:
        return None


def decode_bytes(content: bytes, headers: Mapping[str, str] | None = None) -> str:
    """Decode fetched bytes to text. Raises ``DecodeError`` when they are not text in any encoding found."""
    if isinstance(content, str):
        return _checked(content)
    if not content:
        return ""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return _checked(content[len(bom) :].decode(encoding, "replace"))
    charset = declared_charset(content, headers)
    if charset and charset not in ("utf-8",) and not charset.replace("_", "-").startswith(tuple(_UTF16_FAMILY)):
        utf8 = _strict_utf8(content)
        if utf8 is not None and not utf8.isascii() and codecs.lookup(charset).name in ("cp1252", "iso8859-15", "iso8859-2"):
            return _checked(utf8)  # mislabelled UTF-8 (see the module docstring)
        try:
            return _checked(content.decode(charset))
        except UnicodeDecodeError:
            pass  # the declaration is wrong; fall through to UTF-8 and detection
    utf8 = _strict_utf8(content)
    if utf8 is not None:
        if not _DOUBLE_ENCODED_EVIDENCE_UTF8.search(content):
            return _checked(utf8)
        return _checked(_undo_double_encoding(utf8))
    detected = _detect(content)
    if detected is None:
        raise DecodeError("could not detect the text encoding of the content")
    return _checked(detected)
