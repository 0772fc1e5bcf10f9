"""Orders: pay for a hold (idempotently), look orders up, refund and exchange tickets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.api.deps import FullScope, ReadScope, Sessions
from bot.api.errors import ApiError
from bot.api.paging import MAX_PAGE, Limit, Offset, page
from bot.api.routes.fixtures import CUSTOMER
from bot.api.routes.holds import HeldSeatOut, held_seat_out
from bot.api.schemas import StrictBody, rfc3339
from bot.database import run_engine
from ticketing.exchanges import confirm_exchange, quote_exchange
from ticketing.orders import OrderView, get_order, orders_of
from ticketing.paying import pay_order
from ticketing.refunds import confirm_refund, quote_refund
from ticketing.tickets import TicketView

router = APIRouter(prefix="/api/v1/orders", tags=["ticketing"])  # scopes: per route

TicketIds = list[Annotated[int, Field(ge=1, le=2**53)]]


class PaymentIn(StrictBody):
    method: Literal["sandbox"]
    token: str = Field(min_length=1, max_length=120)


class OrderIn(StrictBody):
    customer: str = Field(pattern=CUSTOMER)
    hold_id: str = Field(min_length=1, max_length=32)
    payment: PaymentIn


class SeatRef(BaseModel):
    id: int
    section: str
    row: str
    number: int
    label: str


class TicketOut(BaseModel):
    id: int
    seat: SeatRef
    status: str
    concession: str
    price: int
    code: str


class OrderOut(BaseModel):
    order_id: str
    status: str
    origin: str = Field(description="purchase, exchange or transfer (received from a fan)")
    fixture_id: int
    total: int
    currency: str
    created_at: str
    paid_at: str | None
    tickets: list[TicketOut]


def ticket_out(ticket: TicketView) -> TicketOut:
    """The API shape of a ticket."""
    seat = ticket.seat
    return TicketOut(
        id=ticket.id,
        seat=SeatRef(
            id=seat.id, section=seat.section, row=seat.row, number=seat.number, label=seat.label
        ),
        status=ticket.status,
        concession=ticket.concession,
        price=ticket.price,
        code=ticket.code,
    )


def order_out(order: OrderView) -> OrderOut:
    """The API shape of an order."""
    return OrderOut(
        order_id=order.ref,
        status=order.status,
        origin=order.origin,
        fixture_id=order.fixture_id,
        total=order.total,
        currency=order.currency,
        created_at=rfc3339(order.created_at),
        paid_at=rfc3339(order.paid_at) if order.paid_at else None,
        tickets=[ticket_out(t) for t in order.tickets],
    )


OrderId = Annotated[
    str,
    Path(
        pattern=r"^[A-Z]{2,4}-[A-Z0-9]{6}$",
        description="the club's order prefix and six characters, e.g. RA-7KX2QD",
    ),
]
Customer = Annotated[str, Query(pattern=CUSTOMER)]


@router.post(
    "",
    status_code=201,
    responses={200: {"description": "a replayed request"}},
    dependencies=[FullScope],
)
async def post_order(
    body: OrderIn,
    sessions: Sessions,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Pay for a hold. The same Idempotency-Key returns the same order (200), never a 2nd charge."""
    if not idempotency_key:
        raise ApiError(
            400,
            "idempotency_key_required",
            "Send an Idempotency-Key header (e.g. a UUID) so a retry cannot pay twice.",
            "Idempotency-Key",
        )
    outcome = await run_engine(
        pay_order,
        sessions,
        body.customer,
        body.hold_id,
        token=body.payment.token,
        method=body.payment.method,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(
        order_out(outcome.order).model_dump(mode="json"),
        status_code=200 if outcome.replayed else 201,
    )


@router.get("", dependencies=[ReadScope])
def list_orders(
    customer: Customer, sessions: Sessions, limit: Limit = MAX_PAGE, offset: Offset = 0
) -> list[OrderOut]:
    """The fan's orders, newest first."""
    with sessions() as session:
        return [order_out(o) for o in page(orders_of(session, customer), limit, offset)]


@router.get("/{order_id}", dependencies=[ReadScope])
def get_one(order_id: OrderId, customer: Customer, sessions: Sessions) -> OrderOut:
    """The fan's order with all its tickets (revoked ones included, with their status)."""
    with sessions() as session:
        return order_out(get_order(session, customer, order_id))


class RefundIn(StrictBody):
    customer: str = Field(pattern=CUSTOMER)
    ticket_ids: TicketIds | None = Field(None, min_length=1, max_length=50)
    quote_id: str | None = Field(None, min_length=1, max_length=32)
    confirm: bool | None = None


TO_ORIGINAL_BUYER = "a ticket received from another fan: the money goes back to their payment"


class RefundQuoteOut(BaseModel):
    quote_id: str
    order_id: str
    ticket_ids: list[int]
    fee: int
    refund_amount: int
    currency: str
    expires_at: str
    to_original_buyer: bool = Field(description=TO_ORIGINAL_BUYER)


class RefundDoneOut(BaseModel):
    order_id: str
    status: Literal["refunded", "partially_refunded"]
    ticket_ids: list[int]
    fee: int
    refund_amount: int
    currency: str
    to_original_buyer: bool = Field(description=TO_ORIGINAL_BUYER)


def _confirming(quote_id: str | None, confirm: bool | None) -> bool:
    if confirm and not quote_id:
        raise ApiError(422, "missing", "quote_id: required to confirm", "quote_id")
    if quote_id and not confirm:
        raise ApiError(422, "invalid_value", "confirm: must be true with a quote_id", "confirm")
    return bool(confirm)


@router.post("/{order_id}/refund", dependencies=[FullScope])
def post_refund(
    order_id: OrderId, body: RefundIn, sessions: Sessions
) -> RefundQuoteOut | RefundDoneOut:
    """Without `quote_id`: quote the fee. With `quote_id` and `confirm: true`: refund."""
    if _confirming(body.quote_id, body.confirm):
        assert body.quote_id is not None
        done = confirm_refund(sessions, body.customer, order_id, body.quote_id)
        return RefundDoneOut(
            order_id=done.order_ref,
            status=done.status,
            ticket_ids=done.ticket_ids,
            fee=done.fee,
            refund_amount=done.refund_amount,
            currency=done.currency,
            to_original_buyer=done.to_original_buyer,
        )
    quote = quote_refund(sessions, body.customer, order_id, body.ticket_ids)
    return RefundQuoteOut(
        quote_id=quote.id,
        order_id=quote.order_ref,
        ticket_ids=quote.ticket_ids,
        fee=quote.fee,
        refund_amount=quote.refund_amount,
        currency=quote.currency,
        expires_at=rfc3339(quote.expires_at),
        to_original_buyer=quote.to_original_buyer,
    )


class ExchangeIn(StrictBody):
    customer: str = Field(pattern=CUSTOMER)
    ticket_ids: TicketIds = Field(min_length=1, max_length=50)
    fixture_id: int = Field(ge=1, le=2**31 - 1)
    section_id: int | None = Field(None, ge=1, le=2**31 - 1)
    seat_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        None, min_length=1, max_length=50
    )
    quote_id: str | None = Field(None, min_length=1, max_length=32)
    confirm: bool | None = None


class ExchangeQuoteOut(BaseModel):
    quote_id: str
    order_id: str
    ticket_ids: list[int]
    fixture_id: int
    seats: list[HeldSeatOut]
    fee: int
    old_total: int
    new_total: int
    amount_due: int = Field(description="> 0 the fan pays this; < 0 the fan gets it back")
    currency: str
    expires_at: str


class ExchangeDoneOut(BaseModel):
    order_id: str
    old_order_id: str
    status: str
    tickets: list[TicketOut]
    revoked_ticket_ids: list[int]
    fee: int
    amount_charged: int
    amount_refunded: int
    currency: str


@router.post("/{order_id}/exchange", dependencies=[FullScope])
def post_exchange(
    order_id: OrderId, body: ExchangeIn, sessions: Sessions
) -> ExchangeQuoteOut | ExchangeDoneOut:
    """Quote (new seats held) and then confirm swapping tickets for other seats or a match."""
    if _confirming(body.quote_id, body.confirm):
        assert body.quote_id is not None
        done = confirm_exchange(sessions, body.customer, order_id, body.quote_id)
        return ExchangeDoneOut(
            order_id=done.order.ref,
            old_order_id=done.old_order_ref,
            status=done.order.status,
            tickets=[ticket_out(t) for t in done.order.tickets],
            revoked_ticket_ids=done.old_ticket_ids,
            fee=done.fee,
            amount_charged=done.amount_charged,
            amount_refunded=done.amount_refunded,
            currency=done.order.currency,
        )
    quote = quote_exchange(
        sessions,
        body.customer,
        order_id,
        body.ticket_ids,
        body.fixture_id,
        section_id=body.section_id,
        seat_ids=body.seat_ids,
    )
    return ExchangeQuoteOut(
        quote_id=quote.id,
        order_id=quote.order_ref,
        ticket_ids=quote.ticket_ids,
        fixture_id=quote.fixture_id,
        seats=[held_seat_out(s) for s in quote.seats],
        fee=quote.fee,
        old_total=quote.old_total,
        new_total=quote.new_total,
        amount_due=quote.amount_due,
        currency=quote.currency,
        expires_at=rfc3339(quote.expires_at),
    )
