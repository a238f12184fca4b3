"""Web archives in: .warc, .warc.gz and Common Crawl .wet.gz files (FastWARC; the ``sources`` extra).

    iter_warc(path, start_offset=0, include_start=True) -> (record_offset, RawDocument | SourceError), ...
    warc_items(path)                                    -> SourceItems for the pipeline (errors as SourceError)
    write_warc(path, records) / WarcPage                   small writer used by tests and bench/warc.py

What becomes a RawDocument:
- ``response`` records with an HTTP 2xx answer whose type is HTML (Content-Type, else the crawler's identified
  payload type, else a look at the first bytes) -> RawDocument("text/html"), headers from the HTTP block;
- ``resource`` records of type HTML (wget --warc, Browsertrix) -> RawDocument("text/html");
- ``conversion`` records (WET plain text) -> RawDocument("text/plain", charset UTF-8 as WET files are).
Everything else (requests, metadata, revisits, redirects, errors, images) is skipped silently.

``fetched_at`` is the WARC-Date: when the page was crawled, never its publication date.

Resuming: each item comes with the byte offset of its record in the file (the offset of the gzip member for
.gz files written one member per record, as the WARC standard recommends and Common Crawl does). A pipeline
commits batches and checkpoints the offset of the last committed record; after a crash it calls
``iter_warc(path, start_offset=checkpoint, include_start=False)``, which seeks straight there. A file compressed
as one single gzip stream can be read but not resumed mid-way (the offsets then point into that one stream).

Damage: a record whose block is shorter than its Content-Length (a truncated download), or bytes that stop
decompressing, end the iteration with an InputError that names the offset where the damage is; every record
before it has been yielded. A single bad record (an undecodable gzip payload, over the size limit) becomes a
SourceError item and the reading goes on.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InputError, MissingExtraError
from ..model import RawDocument
from .files import SourceError, SourceItem

__all__ = ["iter_warc", "warc_items", "WarcPage", "write_warc", "MAX_RECORD_BYTES", "WARC_SUFFIXES"]

MAX_RECORD_BYTES = 20 * 1024 * 1024
WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".arc.gz")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_WET_HEADERS = {"content-type": "text/plain; charset=utf-8"}


def _fastwarc() -> Any:
    try:
        import fastwarc.stream_io as stream_io
        import fastwarc.warc as warc
    except ImportError as exc:
        raise MissingExtraError("WARC reading", "sources") from exc
    return warc, stream_io


def _open_records(handle: BinaryIO, start_offset: int) -> tuple[Iterable[Any], bool]:
    """FastWARC's record iterator from ``start_offset``, and whether the file is gzipped (per-record members)."""
    warc, stream_io = _fastwarc()
    handle.seek(start_offset)
    gzipped = handle.read(2) == b"\x1f\x8b"
    handle.seek(start_offset)
    # Detect compression at the start offset ourselves: FastWARC's own detection rewinds to the file's start.
    stream = stream_io.GzipReader(handle) if gzipped else handle
    return warc.ArchiveIterator(stream, parse_http=False, stream_detect=False), gzipped


def iter_warc(
    path: str | Path,
    start_offset: int = 0,
    *,
    include_start: bool = True,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[tuple[int, RawDocument | SourceError]]:
    """The HTML pages and WET texts of a WARC file, each with its record offset (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such WARC file")
    size = path.stat().st_size
    if start_offset < 0 or start_offset > size:
        raise InputError(f"{path}: start offset {start_offset} is outside the file")
    with path.open("rb") as handle:
        iterator, gzipped = _open_records(handle, start_offset)
        records = iter(iterator)
        last: tuple[int, int] | None = None  # offset and Content-Length of the last record seen
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except (OSError, ValueError) as exc:
                where = "at the start offset" if last is None else f"after the record at offset {last[0]}"
                raise InputError(f"{path}: unreadable WARC data {where} ({exc}); records before it were read") from exc
            offset = int(record.stream_pos)
            last = (offset, int(record.content_length))
            if offset == start_offset and not include_start:
                continue
            item = _item_from_record(path, record, offset, max_record_bytes)
            if item is not None:
                yield offset, item
    # FastWARC ends quietly when a file stops inside a record's headers: check that the last record is whole.
    _check_complete(path, last, gzipped, size, start_offset)


def _check_complete(path: Path, last: tuple[int, int] | None, gzipped: bool, size: int, start_offset: int) -> None:
    if last is None:
        with path.open("rb") as handle:
            handle.seek(start_offset)
            if handle.read(4096).strip(b"\r\n\t \x00"):
                raise InputError(f"{path}: no WARC record found at offset {start_offset}")
        return
    offset, length = last
    with path.open("rb") as handle:
        end = _gzip_member_end(handle, offset) if gzipped else _plain_record_end(handle, offset, length)
    if end is None or end > size:
        raise InputError(f"{path}: archive is truncated in the record at offset {offset}; records before it were read")
    with path.open("rb") as handle:
        handle.seek(end)
        trailing = handle.read(4096)
    if trailing.strip(b"\r\n\t \x00"):
        raise InputError(f"{path}: unreadable bytes after the record at offset {offset} (truncated or corrupt archive)")


def _plain_record_end(handle: BinaryIO, offset: int, length: int) -> int | None:
    handle.seek(offset)
    head = handle.read(64 * 1024)
    header_end = head.find(b"\r\n\r\n")
    if header_end < 0 or b"content-length:" not in head[:header_end].lower():
        return None
    return offset + header_end + 4 + length + 4  # headers, blank line, block, and the two closing CRLFs


def _gzip_member_end(handle: BinaryIO, offset: int) -> int | None:
    """Where the gzip member starting at ``offset`` ends, or None when it is cut short (output is thrown away)."""
    handle.seek(offset)
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    consumed = 0
    try:
        while not decompressor.eof:
            chunk = handle.read(64 * 1024)
            if not chunk:
                return None
            consumed += len(chunk)
            decompressor.decompress(chunk, 1 << 20)
            while decompressor.unconsumed_tail and not decompressor.eof:
                decompressor.decompress(decompressor.unconsumed_tail, 1 << 20)
    except zlib.error:
        return None
    return offset + consumed - len(decompressor.unused_data)


def _item_from_record(path: Path, record: Any, offset: int, max_record_bytes: int) -> RawDocument | SourceError | None:
    source = f"{path}@{offset}"
    headers = record.headers
    record_type = str(headers.get("WARC-Type") or "").lower()
    if record_type not in ("response", "resource", "conversion"):
        return None  # warcinfo, request, metadata, revisit...: left unread
    length = int(record.content_length)
    if length > max_record_bytes:
        return SourceError(source, f"record of {length} bytes is over the {max_record_bytes}-byte limit; skipped")
    block = record.reader.read()
    if len(block) < length:
        raise InputError(
            f"{path}: archive is truncated in the record at offset {offset} ({len(block)} of {length} bytes); "
            "records before it were read"
        )
    url = (headers.get("WARC-Target-URI") or "").strip().strip("<>") or None
    fetched_at = _record_date(record)
    if record_type == "conversion":
        return RawDocument(block, "text/plain", url=url, source=source, fetched_at=fetched_at, headers=dict(_WET_HEADERS))
    if record_type == "resource":
        media = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media not in _HTML_TYPES:
            return None
        return RawDocument(block, "text/html", url=url, source=source, fetched_at=fetched_at,
                           headers={"content-type": headers.get("Content-Type") or "text/html"})
    return _http_response(block, url, source, fetched_at, headers.get("WARC-Identified-Payload-Type"))


def _record_date(record: Any) -> datetime | None:
    try:
        value = record.record_date
    except (ValueError, OSError):
        return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _split_http(block: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """(status, lower-case headers, payload) of an HTTP response block, or None when it is not one."""
    end = block.find(b"\r\n\r\n")
    separator = 4
    if end < 0:
        end, separator = block.find(b"\n\n"), 2
    if end < 0 or not block.startswith(b"HTTP/"):
        return None
    head = block[:end].decode("iso-8859-1").splitlines()
    try:
        status = int(head[0].split()[1])
    except (IndexError, ValueError):
        return None
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return status, headers, block[end + separator:]


def _looks_like_html(payload: bytes) -> bool:
    start = payload[:1024].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start


def _http_response(block: bytes, url: str | None, source: str, fetched_at: datetime | None,
                   identified_type: str | None) -> RawDocument | SourceError | None:
    parsed = _split_http(block)
    if parsed is None:
        return SourceError(source, "response record holds no HTTP response")
    status, headers, payload = parsed
    if not 200 <= status < 300:
        return None
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media:
        is_html = media in _HTML_TYPES
    elif identified_type:
        is_html = identified_type.split(";", 1)[0].strip().lower() in _HTML_TYPES
    else:
        is_html = _looks_like_html(payload)
    if not is_html:
        return None
    try:
        payload = _decode_payload(payload, headers)
    except InputError as exc:
        return SourceError(source, str(exc))
    return RawDocument(payload, "text/html", url=url, source=source, fetched_at=fetched_at, headers=headers)


def _decode_payload(payload: bytes, headers: dict[str, str]) -> bytes:
    """Undo chunking and gzip/deflate when the archive kept the bytes as sent (Common Crawl stores them decoded)."""
    if "chunked" in headers.get("transfer-encoding", "").lower() and _looks_chunked(payload):
        payload = _dechunk(payload)
    encoding = headers.get("content-encoding", "").lower()
    if "gzip" in encoding and payload[:2] == b"\x1f\x8b":
        return _inflate(payload, 16 + zlib.MAX_WBITS)
    if "deflate" in encoding and payload[:1] in (b"\x78",):
        return _inflate(payload, zlib.MAX_WBITS)
    return payload


def _inflate(payload: bytes, wbits: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(payload, MAX_RECORD_BYTES + 1)
    except zlib.error as exc:
        raise InputError(f"compressed payload does not decode ({exc})") from exc
    if len(out) > MAX_RECORD_BYTES or decompressor.unconsumed_tail:
        raise InputError(f"payload decodes to over {MAX_RECORD_BYTES} bytes")
    if not decompressor.eof:
        raise InputError("compressed payload does not decode (it ends too early)")
    return out


def _looks_chunked(payload: bytes) -> bool:
    line = payload[:20].split(b"\r\n", 1)[0]
    return bool(line) and all(c in b"0123456789abcdefABCDEF; " for c in line.split(b";")[0])


def _dechunk(payload: bytes) -> bytes:
    out = io.BytesIO()
    position = 0
    while position < len(payload):
        end = payload.find(b"\r\n", position)
        if end < 0:
            break
        try:
            size = int(payload[position:end].split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            raise InputError("malformed chunked transfer encoding") from None
        if size == 0:
            break
        out.write(payload[end + 2:end + 2 + size])
        position = end + 2 + size + 2
    return out.getvalue()


def warc_items(path: str | Path, start_offset: int = 0) -> Iterator[SourceItem]:
    """The pipeline's view: RawDocuments and SourceErrors, archive damage reported as a last SourceError."""
    try:
        for _, item in iter_warc(path, start_offset):
            yield item
    except InputError as exc:
        yield SourceError(str(path), str(exc))


# ------------------------------------------------------------------------------------------------------ writing


@dataclass(slots=True)
class WarcPage:
    """One page to archive: an HTTP response (HTML) or, with ``wet=True``, a WET conversion record (text)."""

    url: str
    content: bytes
    fetched_at: datetime
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    http_headers: dict[str, str] = field(default_factory=dict)
    wet: bool = False


def write_warc(path: str | Path, pages: Iterable[WarcPage], *, gzip_members: bool | None = None) -> list[int]:
    """Write ``pages`` as a WARC/1.1 file (one gzip member per record for .gz names); returns the record offsets."""
    warc, stream_io = _fastwarc()
    path = Path(path)
    compress = path.name.endswith(".gz") if gzip_members is None else gzip_members
    offsets: list[int] = []
    with path.open("wb") as handle:
        for page in pages:
            offsets.append(handle.tell())
            record = warc.WarcRecord()
            if page.wet:
                record.init_headers(warc.WarcRecordType.conversion)
                record.headers.set("Content-Type", "text/plain")
                record.set_bytes_content(page.content)
            else:
                record.init_headers(warc.WarcRecordType.response)
                record.headers.set("Content-Type", "application/http; msgtype=response")
                http_headers = {"Content-Type": page.content_type, **page.http_headers,
                                "Content-Length": str(len(page.content))}
                head = f"HTTP/1.1 {page.status} {'OK' if page.status == 200 else 'Status'}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in http_headers.items()) + "\r\n"
                record.set_bytes_content(head.encode("iso-8859-1") + page.content)
            record.headers.set("WARC-Target-URI", page.url)
            record.headers.set("WARC-Date", page.fetched_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
            if compress:
                member = io.BytesIO()
                writer = stream_io.GzipWriter(member)
                record.write(writer)
                writer.close()
                handle.write(member.getvalue())
            else:
                record.write(handle)
    return offsets
