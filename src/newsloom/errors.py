"""The one exception tree of newsloom.

Callers can catch at any level; the CLI maps each branch to its own exit code and the web API to one
JSON error shape (``{"ok": false, "error": ..., "status": ...}``).

    NewsloomError                      anything newsloom raises on purpose        (CLI exit 1)
    ├── InputError                     the input cannot be used as given           (CLI exit 2)
    │   ├── UnsupportedInputError      a file or content type newsloom does not read
    │   ├── DecodeError                bytes that are not text in any encoding we can detect
    │   ├── InputTooLargeError         over the configured size limit (nothing was read)
    │   ├── ExtractionError            a page was parsed but holds no article to extract
    │   └── FetchError                 a URL could not be fetched (``url`` says which hop failed)
    │       ├── BlockedAddressError    the SSRF guard refused a non-public address; nothing was sent
    │       ├── RobotsDisallowedError  robots.txt disallows the URL for our user agent
    │       ├── FetchTimeoutError      connect, read or whole-body deadline passed
    │       └── ResponseTooLargeError  over the body size limit, on the wire or decoded (also InputTooLargeError)
    ├── QueryError                     a malformed search query, with the position of the problem
    ├── StoreError                     the store refused or failed an operation    (CLI exit 3)
    │   ├── MigrationError             a schema migration failed (it was rolled back)
    │   └── NotFoundError              no such article / story / entity
    └── MissingExtraError              an optional part is not installed; says what to install (CLI exit 4)
"""

from __future__ import annotations

__all__ = [
    "NewsloomError",
    "InputError",
    "UnsupportedInputError",
    "DecodeError",
    "InputTooLargeError",
    "ExtractionError",
    "FetchError",
    "BlockedAddressError",
    "RobotsDisallowedError",
    "FetchTimeoutError",
    "ResponseTooLargeError",
    "QueryError",
    "StoreError",
    "MigrationError",
    "NotFoundError",
    "MissingExtraError",
]


class NewsloomError(Exception):
    """Base of every error newsloom raises on purpose."""

    exit_code = 1


class InputError(NewsloomError):
    """The input cannot be used as given."""

    exit_code = 2


class UnsupportedInputError(InputError):
    """A file or content type newsloom does not read."""


class DecodeError(InputError):
    """Bytes that are not text in any encoding we can detect."""


class InputTooLargeError(InputError):
    """The input is over the configured size limit; nothing was read."""


class ExtractionError(InputError):
    """The page was parsed but holds no article text to extract."""


class FetchError(InputError):
    """A URL could not be fetched. ``url`` is the URL (or redirect hop) that failed."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class BlockedAddressError(FetchError):
    """The SSRF guard refused the host: it is, or resolves to, a non-public address. Nothing was sent to it."""


class RobotsDisallowedError(FetchError):
    """robots.txt disallows this URL for our user agent."""


class FetchTimeoutError(FetchError):
    """The connection, a read, or the whole body took longer than allowed."""


class ResponseTooLargeError(FetchError, InputTooLargeError):
    """The body is over the size limit on the wire, or once decoded."""


class QueryError(NewsloomError):
    """A malformed search query. ``position`` points at the problem (0-based), when known."""

    exit_code = 2

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class StoreError(NewsloomError):
    """The store refused or failed an operation."""

    exit_code = 3


class MigrationError(StoreError):
    """A schema migration failed and was rolled back."""


class NotFoundError(StoreError):
    """No such article, story or entity."""


class MissingExtraError(NewsloomError):
    """An optional part is not installed. The message says which extra to install."""

    exit_code = 4

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'newsloom[{extra}]'")
        self.feature = feature
        self.extra = extra
