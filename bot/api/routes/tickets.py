"""Tickets: the fan's tickets, their QR codes, and transfers to another fan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from bot.api.deps import FullScope, ReadScope, Sessions
from bot.api.paging import MAX_PAGE, Limit, Offset, page
from bot.api.routes.fixtures import CUSTOMER
from bot.api.routes.orders import SeatRef, TicketOut, ticket_out
from bot.api.schemas import StrictBody, rfc3339
from ticketing.qr import ticket_qr_png, ticket_qr_svg
from ticketing.tickets import get_ticket, tickets_of
from ticketing.transfers import quote_transfer, transfer_ticket

router = APIRouter(prefix="/api/v1/tickets", tags=["ticketing"])  # scopes: per route

TicketId = Annotated[int, Path(ge=1, le=2**53)]
Customer = Annotated[str, Query(pattern=CUSTOMER)]


class TransferIn(StrictBody):
    customer: str = Field(pattern=CUSTOMER)
    to_customer: str = Field(pattern=CUSTOMER)
    quote_id: str | None = Field(None, min_length=1, max_length=32)


class TransferQuoteIn(StrictBody):
    customer: str = Field(pattern=CUSTOMER)
    to_customer: str = Field(pattern=CUSTOMER)


class TransferQuoteOut(BaseModel):
    quote_id: str
    ticket_id: int
    to_customer: str
    fee: int
    currency: str
    expires_at: str


class PassedTicketOut(BaseModel):
    """The recipient's new ticket as the seller sees it: no code (it is the recipient's)."""

    id: int
    seat: SeatRef
    status: str
    concession: str
    price: int


class TransferOut(BaseModel):
    tickets: list[PassedTicketOut]
    revoked_ticket_ids: list[int]
    to_customer: str
    fee: int
    currency: str


@router.get("", dependencies=[ReadScope])
def list_tickets(
    customer: Customer,
    sessions: Sessions,
    fixture_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Limit = MAX_PAGE,
    offset: Offset = 0,
) -> list[TicketOut]:
    """The fan's live tickets (bought or received), by fixture and seat."""
    with sessions() as session:
        tickets = tickets_of(session, customer, fixture_id=fixture_id)
    return [ticket_out(t) for t in page(tickets, limit, offset)]


@router.get("/{ticket_id}", dependencies=[ReadScope])
def get_one(ticket_id: TicketId, customer: Customer, sessions: Sessions) -> TicketOut:
    """One of the fan's tickets."""
    with sessions() as session:
        return ticket_out(get_ticket(session, customer, ticket_id))


@router.get("/{ticket_id}/qr.png", response_class=Response, dependencies=[ReadScope])
def get_qr_png(ticket_id: TicketId, customer: Customer, sessions: Sessions) -> Response:
    """The ticket's QR code as PNG."""
    with sessions() as session:
        ticket = get_ticket(session, customer, ticket_id)
    return Response(ticket_qr_png(ticket), media_type="image/png")


@router.get("/{ticket_id}/qr.svg", response_class=Response, dependencies=[ReadScope])
def get_qr_svg(ticket_id: TicketId, customer: Customer, sessions: Sessions) -> Response:
    """The ticket's QR code as SVG."""
    with sessions() as session:
        ticket = get_ticket(session, customer, ticket_id)
    return Response(ticket_qr_svg(ticket), media_type="image/svg+xml")


@router.post("/{ticket_id}/transfer/quote", dependencies=[FullScope])
def post_transfer_quote(
    ticket_id: TicketId, body: TransferQuoteIn, sessions: Sessions
) -> TransferQuoteOut:
    """The fee for transferring the ticket (quote it to the fan before they confirm)."""
    quote = quote_transfer(sessions, body.customer, ticket_id, body.to_customer)
    return TransferQuoteOut(
        quote_id=quote.id,
        ticket_id=quote.ticket_id,
        to_customer=quote.to_customer,
        fee=quote.fee,
        currency=quote.currency,
        expires_at=rfc3339(quote.expires_at),
    )


@router.post("/{ticket_id}/transfer", dependencies=[FullScope])
def post_transfer(ticket_id: TicketId, body: TransferIn, sessions: Sessions) -> TransferOut:
    """Transfer the ticket to another fan: the old code is revoked, a new ticket issued in
    an order of the recipient's own. The answer leaves out its code: only they read it."""
    done = transfer_ticket(
        sessions, body.customer, ticket_id, body.to_customer, quote_id=body.quote_id
    )
    new = ticket_out(done.ticket)
    passed = PassedTicketOut(
        id=new.id, seat=new.seat, status=new.status, concession=new.concession, price=new.price
    )
    return TransferOut(
        tickets=[passed],
        revoked_ticket_ids=[done.old_ticket_id],
        to_customer=body.to_customer,
        fee=done.fee,
        currency=done.currency,
    )
