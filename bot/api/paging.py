"""Pages of the list endpoints: no answer holds more than a page, whatever is stored.

A list endpoint takes `limit` (at most MAX_PAGE, the default) and `offset` (where the
page starts; the next one starts at `offset + limit`). An answer shorter than `limit`
is the last page.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Annotated, TypeVar

from fastapi import Query

MAX_PAGE = 200
MAX_OFFSET = 1_000_000

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Page size, 1 to {MAX_PAGE}.")]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Where the page starts (0 is the first item).")
]


def page(items: Iterable[T], limit: int, offset: int) -> list[T]:
    """Items `offset` to `offset + limit` of `items`."""
    return list(itertools.islice(items, offset, offset + limit))
