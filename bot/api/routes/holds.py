"""Holds: reserve seats for a fan while they pay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.api.deps import CallerDep, FullScope, ReadScope, Sessions
from bot.api.routes.fixtures import CUSTOMER
from bot.api.schemas import StrictBody, rfc3339
from bot.database import run_engine
from ticketing.holds import HeldSeat, HoldView, create_hold, get_hold, release_hold
from ticketing.risk import NO_SOURCE, HoldSource

router = APIRouter(prefix="/api/v1/holds", tags=["ticketing"])  # scopes: per route


class HoldIn(StrictBody):
    customer: str = Field(pattern=CUSTOMER, description="The fan's external id, e.g. tg:12345.")
    fixture_id: int = Field(ge=1, le=2**31 - 1)
    quantity: int | None = Field(None, description="Seats wanted (1 to the per-order maximum).")
    section_id: int | None = Field(None, ge=1, le=2**31 - 1)
    seat_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        None, min_length=1, max_length=50
    )
    category: str | None = Field(None, max_length=32)
    concessions: list[Annotated[str, Field(max_length=16)]] | None = Field(
        None, min_length=1, max_length=50
    )


class HeldSeatOut(BaseModel):
    id: int
    section: str
    row: str
    number: int
    label: str
    concession: str
    price: int


class HoldOut(BaseModel):
    hold_id: str
    fixture_id: int
    status: str
    seats: list[HeldSeatOut]
    expires_at: str
    total: int
    currency: str


def held_seat_out(seat: HeldSeat) -> HeldSeatOut:
    """The API shape of a held (or quoted) seat."""
    return HeldSeatOut(
        id=seat.id,
        section=seat.section,
        row=seat.row,
        number=seat.number,
        label=seat.label,
        concession=seat.concession,
        price=seat.price,
    )


def hold_out(hold: HoldView) -> HoldOut:
    """The API shape of a hold."""
    return HoldOut(
        hold_id=hold.id,
        fixture_id=hold.fixture_id,
        status=hold.status,
        seats=[held_seat_out(s) for s in hold.seats],
        expires_at=rfc3339(hold.expires_at),
        total=hold.total,
        currency=hold.currency,
    )


HoldId = Annotated[str, Path(pattern=r"^[A-Z0-9]{1,32}$")]
Customer = Annotated[str, Query(pattern=CUSTOMER)]


@router.post("", status_code=201, response_model=HoldOut, dependencies=[FullScope])
async def post_hold(body: HoldIn, sessions: Sessions, caller: CallerDep) -> JSONResponse:
    """Hold the best available seats (or `seat_ids`) for the fan; they expire unpaid.

    A key with a hold budget (`desk api-keys create --hold-budget N`) is held to it;
    the club's own `full` keys have none.
    """
    source = (
        HoldSource(key_id=caller.key_id, key_budget=caller.hold_budget)
        if caller.hold_budget is not None
        else NO_SOURCE
    )
    hold = await run_engine(
        create_hold,
        sessions,
        body.customer,
        body.fixture_id,
        body.quantity,
        section_id=body.section_id,
        seat_ids=body.seat_ids,
        category=body.category,
        concessions=body.concessions,
        source=source,
    )
    return JSONResponse(hold_out(hold).model_dump(mode="json"), status_code=201)


@router.get("/{hold_id}", dependencies=[ReadScope])
def get_one(hold_id: HoldId, customer: Customer, sessions: Sessions) -> HoldOut:
    """The fan's hold."""
    with sessions() as session:
        return hold_out(get_hold(session, customer, hold_id))


@router.delete("/{hold_id}", status_code=204, dependencies=[FullScope])
def delete_hold(hold_id: HoldId, customer: Customer, sessions: Sessions) -> Response:
    """Release the fan's hold now."""
    release_hold(sessions, customer, hold_id)
    return Response(status_code=204)
