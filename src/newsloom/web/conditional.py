"""Conditional GET for generated documents (feeds): a strong ETag from the body, 304 when the client has it.

    conditional_response(request, body, media_type) -> Response (200 with ETag, or 304 Not Modified)

The ETag is a digest of the bytes sent, so it changes exactly when the document does; feed readers that send
If-None-Match then get a 304 with no body instead of the same feed again.
"""

from __future__ import annotations

import hashlib

from fastapi import Request
from fastapi.responses import Response

__all__ = ["conditional_response", "etag_for", "etag_matches"]

# Feeds change as articles arrive; readers may keep a copy a few minutes, then revalidate with the ETag.
FEED_CACHE_CONTROL = "public, max-age=300"


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: a list of tags, each maybe W/-prefixed, or "*"."""
    if not if_none_match:
        return False
    candidates = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in candidates)


def conditional_response(request: Request, body: str, media_type: str) -> Response:
    data = body.encode("utf-8")
    etag = etag_for(data)
    headers = {"ETag": etag, "Cache-Control": FEED_CACHE_CONTROL}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
