"""Sources produce RawDocuments (or already-extracted Articles) for the pipeline."""

from .files import SourceError, SourceItem, read_documents, read_path

__all__ = ["SourceError", "SourceItem", "read_documents", "read_path"]
