"""Best-available blocks: adjacent seats, best first, and disjoint choices for racing buyers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.ticketing.conftest import Club
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


def test_blocks_found_by_the_database_are_those_found_in_python(club: Club) -> None:
    from datetime import timedelta

    from core.clock import utcnow
    from ticketing.holds import create_hold
    from ticketing.recommendations import free_blocks, free_seats

    section = club.sections["A"]
    with club.db() as session:
        ids = [s.id for s in free_seats(session, club.fixture, section, utcnow(), None)]
    create_hold(club.db, "tg:1", club.fixture, seat_ids=[ids[3], ids[12]])
    create_hold(club.db, "tg:2", club.fixture, seat_ids=[ids[7]])
    now = utcnow() + timedelta(seconds=1)
    with club.db() as session:
        free = free_seats(session, club.fixture, section, now, None)
        for quantity in (1, 2, 3, 9):  # 9: larger than the SQL form, found in Python
            found = free_blocks(session, club.fixture, section, now, quantity, 1000)
            assert found == adjacent_blocks(free, quantity)
            assert all(len(b) == quantity for b in found)
        # A second look starts from the best block's view and finds the same blocks.
        again = free_blocks(session, club.fixture, section, now, 2, 4)
        assert again == adjacent_blocks(free, 2)[: len(again)] and len(again) == 4
