"""The gate: scan a ticket (online check-in), and what offline scanners download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.api.deps import GateScope, Sessions
from bot.api.paging import Offset
from bot.api.scan_batches import ScanBatcher
from bot.api.schemas import StrictBody, rfc3339
from ticketing.gate import Scan, revocation_list
from ticketing.keys import default_keyring

MAX_REVOCATIONS = 10_000  # a page of the revocation list (a cancelled match revokes them all)

router = APIRouter(prefix="/api/v1/gate", tags=["gate"], dependencies=[GateScope])


class ScanIn(StrictBody):
    code: str = Field(min_length=1, max_length=512)
    gate: str = Field(min_length=1, max_length=32)
    fixture_id: int | None = Field(None, ge=1, le=2**31 - 1)
    nonce: str | None = Field(None, min_length=1, max_length=64)


class ScanOut(BaseModel):
    result: Literal["ok", "already_used", "invalid", "revoked", "wrong_fixture"]
    message: str
    ticket_id: int | None = None
    fixture_id: int | None = None
    seat: str | None = None
    used_at: str | None = None
    gate: str | None = None
    concession: str | None = Field(
        None, description="the ticket's concession (adult, child, disabled...): ask for proof"
    )


class KeyOut(BaseModel):
    kid: str
    public_key_pem: str


class RevocationOut(BaseModel):
    ticket_id: int
    version: int
    revoked_at: str


@router.post("/scan", response_model=ScanOut, response_model_exclude_none=True)
async def post_scan(body: ScanIn, request: Request) -> JSONResponse:
    """Check a ticket in: `ok` once (or again with the same nonce), then `already_used`."""
    batcher: ScanBatcher = request.app.state.scan_batcher
    scan = await batcher.check_in(Scan(body.code, body.gate, body.fixture_id, body.nonce))
    # Built directly (the shape of ScanOut, None fields left out): the hottest route at the
    # gate skips FastAPI's re-validation of its own answer.
    answer = {
        "result": scan.result,
        "message": scan.message,
        "ticket_id": scan.ticket_id,
        "fixture_id": scan.fixture_id,
        "seat": scan.seat,
        "used_at": rfc3339(scan.used_at) if scan.used_at else None,
        "gate": scan.gate,
        "concession": scan.concession,
    }
    return JSONResponse({k: v for k, v in answer.items() if v is not None})


@router.get("/keys")
def get_keys() -> list[KeyOut]:
    """The public keys that verify ticket codes, for scanners that work offline."""
    return [KeyOut(kid=k, public_key_pem=p) for k, p in default_keyring().public_pems().items()]


@router.get("/revocations")
def get_revocations(
    sessions: Sessions,
    fixture_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    since: Annotated[datetime | None, Query(description="RFC 3339; only newer entries")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_REVOCATIONS, description=f"Page size, 1 to {MAX_REVOCATIONS}.")
    ] = MAX_REVOCATIONS,
    offset: Offset = 0,
) -> list[RevocationOut]:
    """Codes that no longer open a gate (refunded, exchanged, transferred, cancelled),
    oldest first; a scanner pages with `offset` until a page is shorter than `limit`."""
    with sessions() as session:
        rows = revocation_list(
            session, fixture_id=fixture_id, since=since, limit=limit, offset=offset
        )
    return [RevocationOut(ticket_id=t, version=v, revoked_at=rfc3339(at)) for t, v, at in rows]
