"""Telling a request to exchange or pass on tickets from a question about the rules.

"I want to swap my tickets for the cup game" starts the exchange form; "can I give
my ticket to a friend?" is answered from the knowledge base. Both are the
`exchange_transfer` intent: the words decide, and only outside another process.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Literal

Change = Literal["exchange", "transfer"]

_TRANSFER = re.compile(
    r"\b(transfer|give|pass|send|hand)\b.*\b(ticket|tickets|seat|it|them)\b|\btransfer\b"
    r"|转让|转给|送给|转票|过户|给朋友|给我朋友",
    re.IGNORECASE,
)
_EXCHANGE = re.compile(
    r"\b(exchange|swap|switch|change|move|upgrade)\b|换票|换座|换到|换成|换一场|调换|改签|换",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b(i want|i wanna|i'd like|i would like|i need|please|pls|plz|let me|help me|can you|"
    r"could you|would you|i'll|go ahead|start)\b|^(exchange|swap|switch|change|move|transfer|"
    r"give|send)\b|我想|我要|帮我|请|麻烦|给我",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"^(can|could|may|is|are|do|does|how|what|when|why|will|would|am|if)\b|"
    r"\b(is it possible|allowed|policy|rules?|how much|how do|fee for)\b|"
    r"吗|怎么|如何|能不能|可不可以|多少|什么|是否|规定",
    re.IGNORECASE,
)


# Looser than a request: which change a question or a wish is about, typos and all
# (the request patterns above are the strict half of these).
_ABOUT_TRANSFER = re.compile(
    rf"{_TRANSFER.pattern}|\b(transfer\w*|give|giving|hand|pass\w*|send\w*)\b|送|俾"
    r"|给.{0,6}(朋友|弟|哥|妹|姐|家人|同事|老婆|老公|爸|妈|儿子|女儿)",
    re.IGNORECASE,
)
_ABOUT_EXCHANGE = re.compile(rf"{_EXCHANGE.pattern}|改场|改期|另一场|别的场", re.IGNORECASE)
# Misspelt ("exhange", "trasnfer"): a word this close to one of these counts.
_NEAR = {"exchange": "exchange", "transfer": "transfer", "switch": "exchange"}


def _misspelt(text: str) -> Change | None:
    for word in re.findall(r"[a-z]{5,}", text.casefold()):
        close = get_close_matches(word, list(_NEAR), n=1, cutoff=0.8)
        if close:
            return _NEAR[close[0]]  # type: ignore[return-value]
    return None


def change_kind(text: str) -> Change | None:
    """Which change `text` is about (a request or a question), or None."""
    if _ABOUT_TRANSFER.search(text):
        return "transfer"
    if _ABOUT_EXCHANGE.search(text):
        return "exchange"
    return _misspelt(text)


def change_request(text: str) -> Change | None:
    """`exchange`/`transfer` when `text` asks to do it now; None for a question about it."""
    text = text.strip()
    if not text:
        return None
    transfer = bool(_TRANSFER.search(text))
    exchange = bool(_EXCHANGE.search(text))
    if not (transfer or exchange):
        return None
    if _QUESTION.search(text) and not _REQUEST.search(text):
        return None
    return "transfer" if transfer else "exchange"
