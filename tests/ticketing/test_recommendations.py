"""Best-available blocks: adjacent seats, best first, and disjoint choices for racing buyers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ticketing.recommendations import FreeSeat, adjacent_blocks, disjoint


def _row(name: str, numbers: list[int], quality: int = 1) -> list[FreeSeat]:
    return [FreeSeat(100 * ord(name) + n, name, 0, n, "standard", quality) for n in numbers]


def test_blocks_are_runs_of_adjacent_seats_best_first() -> None:
    seats = [*_row("A", [1, 2, 3, 5, 6], quality=1), *_row("B", [1, 2], quality=5)]
    blocks = adjacent_blocks(seats, 2)
    assert [[(s.row, s.number) for s in b] for b in blocks] == [
        [("A", 1), ("A", 2)],
        [("A", 2), ("A", 3)],
        [("A", 5), ("A", 6)],
        [("B", 1), ("B", 2)],
    ]


def test_disjoint_keeps_the_best_blocks_that_share_no_seat() -> None:
    blocks = adjacent_blocks(_row("A", [1, 2, 3, 4, 5, 6, 7]), 2)
    kept = disjoint(blocks, 3)
    assert [[s.number for s in b] for b in kept] == [[1, 2], [3, 4], [5, 6]]
    assert disjoint(blocks, 1) == blocks[:1]


@given(
    st.lists(st.integers(1, 40), min_size=1, max_size=40, unique=True),
    st.integers(1, 4),
    st.integers(1, 10),
)
def test_disjoint_blocks_never_overlap(numbers: list[int], quantity: int, limit: int) -> None:
    kept = disjoint(adjacent_blocks(_row("A", sorted(numbers)), quantity), limit)
    ids = [s.id for block in kept for s in block]
    assert len(ids) == len(set(ids)) and len(kept) <= limit
