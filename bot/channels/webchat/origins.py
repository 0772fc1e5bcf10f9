"""Which web pages may open widget sessions: MATCHDAY_WIDGET_ORIGINS plus the gateway's own.

An origin is `scheme://host[:port]` exactly as browsers send it in the `Origin` header
(no path, no trailing slash, default ports left out). The list is checked when the
gateway starts, so a typo stops start-up with the offending entry named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SETTING = "MATCHDAY_WIDGET_ORIGINS"
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9a-f:.]+\](:\d{1,5})?$")


class BadOriginSetting(ValueError):
    """An entry of MATCHDAY_WIDGET_ORIGINS that is not an origin."""


def normalise(origin: str) -> str:
    """Lower-case scheme and host; drop a default port and a trailing slash."""
    parts = urlsplit(origin.strip().rstrip("/"))
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_setting(entries: list[str]) -> frozenset[str]:
    """The allowed origins, or BadOriginSetting naming the bad entry."""
    allowed: set[str] = set()
    for entry in entries:
        if entry == "*":
            raise BadOriginSetting(
                f"{SETTING}: '*' is not supported; list each site's origin, "
                "e.g. https://www.club.example"
            )
        try:
            normal = normalise(entry)
        except ValueError as exc:
            raise BadOriginSetting(f"{SETTING}: {entry!r} is not an origin ({exc})") from None
        if not _ORIGIN.match(normal) or urlsplit(entry.rstrip("/")).path:
            raise BadOriginSetting(
                f"{SETTING}: {entry!r} is not an origin; write scheme://host[:port] "
                "with no path, e.g. https://www.club.example"
            )
        allowed.add(normal)
    return frozenset(allowed)


@dataclass(frozen=True)
class OriginPolicy:
    """Decides whether a browser page at `origin` may use the widget."""

    allowed: frozenset[str]
    own: str | None = None  # the gateway's public origin (MATCHDAY_PUBLIC_URL), if set

    def allows(self, origin: str | None, host: str | None) -> bool:
        """True for a listed origin, or the gateway's own pages (Origin matches Host)."""
        if not origin or origin == "null":
            return False
        try:
            normal = normalise(origin)
        except ValueError:
            return False
        if normal in self.allowed or normal == self.own:
            return True
        if not host:
            return False
        try:
            own_host = urlsplit(normalise(f"http://{host}")).netloc
        except ValueError:
            return False
        return urlsplit(normal).netloc == own_host
