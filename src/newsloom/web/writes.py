"""Write endpoints of the JSON API. Every route here needs the configured API token (security.require_write_token).

    POST /api/ingest     a JSON list of article records -> the pipeline (ingest_articles), one transaction per batch

A record has the fields of a JSONL import line (sources/files.py): ``text`` (required), ``url``, ``title``,
``published_at`` (ISO 8601), ``source``, ``author``, ``language``. A record that cannot be used is reported by its
index in ``errors`` and the others are stored; a malformed body as a whole is a 422 in the one error shape.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ..errors import InputError
from ..pipeline import default_stages, ingest_articles
from ..sources.files import article_from_record
from .api import ErrorOut
from .security import require_write_token

__all__ = ["MAX_RECORDS_PER_REQUEST", "ArticleRecordIn", "IngestOut", "router"]

MAX_RECORDS_PER_REQUEST = 1000

router = APIRouter(prefix="/api", tags=["write"], dependencies=[Depends(require_write_token)])


class ArticleRecordIn(BaseModel):
    """One article, as already extracted elsewhere."""

    text: str = Field(min_length=1, description="the article body; paragraphs separated by a blank line")
    url: str | None = Field(None, max_length=4000)
    title: str | None = Field(None, max_length=2000)
    published_at: str | None = Field(None, max_length=100, description="ISO 8601, e.g. 2024-03-26T08:00:00Z")
    source: str | None = Field(None, max_length=300, description="the site or source name, when there is no URL")
    author: str | None = Field(None, max_length=500)
    language: str | None = Field(None, max_length=20)


class RecordError(BaseModel):
    index: int = Field(description="position of the record in the request list (0-based)")
    error: str


class IngestOut(BaseModel):
    ok: bool = True
    received: int
    inserted: int
    updated: int
    unchanged: int
    errors: list[RecordError]


_WRITE_ERRORS: dict[int | str, dict] = {
    400: {"model": ErrorOut, "description": "too many records"},
    401: {"model": ErrorOut, "description": "no API token, or a wrong one"},
    403: {"model": ErrorOut, "description": "writes are switched off (no token configured)"},
    413: {"model": ErrorOut, "description": "request body over the size limit"},
    422: {"model": ErrorOut, "description": "the body is not a list of article records"},
    429: {"model": ErrorOut, "description": "too many requests from this client"},
}


@router.post("/ingest", response_model=IngestOut, responses=_WRITE_ERRORS, summary="Ingest article records (token)")
def ingest(request: Request, records: list[ArticleRecordIn]) -> IngestOut:
    """Store already-extracted articles through the pipeline's later stages (enrichment), like
    ``newsloom ingest articles.jsonl``. Needs ``Authorization: Bearer <token>``."""
    if len(records) > MAX_RECORDS_PER_REQUEST:
        raise InputError(f"{len(records)} records in one request; the limit is {MAX_RECORDS_PER_REQUEST}")
    articles = []
    errors: list[RecordError] = []
    for index, record in enumerate(records):
        try:
            articles.append(article_from_record(record.model_dump(exclude_none=True), f"api:ingest[{index}]"))
        except ValueError as exc:
            errors.append(RecordError(index=index, error=str(exc)))
    # Tests and embedders may set app.state.ingest_stages (e.g. [] to skip enrichment); the default is the CLI's.
    stages = getattr(request.app.state, "ingest_stages", None)
    result = ingest_articles(articles, request.app.state.store, stages=default_stages() if stages is None else stages)
    return IngestOut(received=len(records), inserted=result.inserted, updated=result.updated,
                     unchanged=result.unchanged, errors=errors)
