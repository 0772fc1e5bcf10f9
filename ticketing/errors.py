"""Typed errors of the ticketing engine; adapters turn them into replies or 4xx bodies.

Every error carries a stable `code` (part of the API contract) and a message
meant for people. Adapters map codes to statuses; the engine knows nothing of HTTP.
"""

from __future__ import annotations


class TicketingError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "ticketing_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DemoDataError(TicketingError):
    """A data file (club, stadium, prices, policies) is malformed; names file and field."""

    code = "invalid_demo_data"


class ClubNotLoaded(TicketingError):
    """The database holds no club yet: its data folder was never loaded (`desk prepare`)."""

    code = "club_not_loaded"


class NotFound(TicketingError):
    """An id that does not exist (or belongs to someone else)."""

    code = "not_found"


class InvalidRequest(TicketingError):
    """A request that can never succeed as asked (inconsistent fields, bad concession...)."""

    code = "invalid_request"


class InvalidQuantity(InvalidRequest):
    """A quantity below 1 or above the per-order maximum."""

    code = "invalid_quantity"


class SaleClosed(TicketingError):
    """The fixture is not on sale for this fan now (not yet open, closed, cancelled)."""

    code = "sale_closed"


class SeatUnavailable(TicketingError):
    """A requested seat is held or sold by someone else."""

    code = "seat_unavailable"

    def __init__(self, message: str, seat_ids: list[int] | None = None) -> None:
        super().__init__(message, field="seat_ids")
        self.seat_ids = seat_ids or []


class SoldOut(TicketingError):
    """Not enough seats left for the request."""

    code = "sold_out"


class PurchaseLimitReached(TicketingError):
    """The fan's cap of tickets per fixture would be exceeded."""

    code = "purchase_limit_reached"

    def __init__(self, message: str, limit: int, already: int) -> None:
        super().__init__(message, field="quantity")
        self.limit = limit
        self.already = already


class RateLimited(TicketingError):
    """Too many holds by this fan in the rate window."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BudgetExceeded(RateLimited):
    """Too many holds from one address, page origin or API key (whichever fans they name).

    `code` says which budget: `address_budget`, `origin_budget` or `key_budget`.
    """

    def __init__(self, code: str, message: str, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s)
        self.code = code


class HoldExpired(TicketingError):
    """The hold timed out (its seats may be someone else's by now) or was released."""

    code = "hold_expired"


class HoldAlreadyOrdered(TicketingError):
    """The hold was turned into an order already (under another idempotency key)."""

    code = "hold_already_ordered"


class IdempotencyConflict(TicketingError):
    """The idempotency key was used before with a different request."""

    code = "idempotency_conflict"


class PaymentDeclined(TicketingError):
    """The payment provider declined the charge; no order remains and the hold is freed."""

    code = "payment_declined"


class PaymentTimeout(TicketingError):
    """The provider did not answer in time; the order stays pending until settled."""

    code = "payment_timeout"

    def __init__(self, message: str, order_ref: str | None = None) -> None:
        super().__init__(message)
        self.order_ref = order_ref


class OrderNotPaid(TicketingError):
    """The order is not paid (pending), so it cannot be refunded or exchanged."""

    code = "order_not_paid"


class AlreadyRefunded(TicketingError):
    """The order or ticket has been refunded (or exchanged, transferred) already."""

    code = "already_refunded"


class TicketUsed(TicketingError):
    """The ticket has been scanned at the gate; it can no longer be refunded or changed."""

    code = "ticket_used"


class NotRefundable(TicketingError):
    """Too close to kick-off, or otherwise outside the refund/exchange/transfer policy."""

    code = "not_refundable"


class NotTransferable(TicketingError):
    """Only the fan who bought a ticket may transfer it, once, before the cut-off."""

    code = "not_transferable"


class QuoteExpired(TicketingError):
    """The fee quote timed out or was used; ask for a new quote."""

    code = "quote_expired"


class PolicyError(TicketingError):
    """The policy file is malformed; the message names the file and the field."""

    code = "invalid_policies"


class KeyStoreError(TicketingError):
    """The signing key directory is unusable (permissions, corrupt key file)."""

    code = "key_store_error"
