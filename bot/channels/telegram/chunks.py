"""Splitting replies longer than Telegram allows (4,096 characters a message,
1,024 a photo caption) on paragraph, line or word boundaries."""

from __future__ import annotations

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
_BOUNDARIES = ("\n\n", "\n", " ")


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the latest paragraph
    break, else line break, else space, else (one unbroken word) at the limit.

    Joining the pieces with the boundary they were cut at gives the text back,
    minus the whitespace at the cuts.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]  # a boundary right after the limit still counts
        cut = -1
        for boundary in _BOUNDARIES:
            cut = window.rfind(boundary)
            if cut > 0:
                break
        if cut <= 0:
            pieces.append(rest[:limit])
            rest = rest[limit:].lstrip()
            continue
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces
