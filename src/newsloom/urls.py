"""URL normalisation shared by extraction, dedup and the store.

Two spellings of one article URL must give one canonical URL, so that an upsert keyed by it finds the row:
lower-case scheme and host, no default port, no fragment, no tracking parameters, sorted query.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["canonicalize_url", "site_of"]

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_")
_TRACKING_NAMES = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "cmpid", "ocid", "ref", "ref_src", "smid", "mbid", "_ga"}
)


def canonicalize_url(url: str | None) -> str | None:
    """The canonical spelling of an http(s) URL, or None when it is not an absolute http(s) URL."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        return None
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


def site_of(url: str | None) -> str | None:
    """The host a URL belongs to, without a leading "www.", e.g. "nytimes.com"."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host
