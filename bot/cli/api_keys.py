"""`desk api-keys ...`: scoped keys for the server-to-server API.

The key is printed once, alone on standard output (notes go to standard error), so
it can be captured without ever being stored by the desk:

    KEY=$(desk api-keys create turnstile-north --scope gate --expires 90d)
    desk api-keys create bi-dashboard --scope read --expires 2027-06-30
    desk api-keys list
    desk api-keys revoke turnstile-north
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated

import typer

from bot.api.keys import REMEMBER_S, ApiKeyError, create_key, list_keys, revoke_key
from bot.database import get_sessionmaker, migrate
from core.clock import utcnow
from core.db import read_session

app = typer.Typer(help="Scoped keys for the server-to-server API.", no_args_is_help=True)

DAYS = re.compile(r"^(\d{1,5})d$")


class ScopeChoice(StrEnum):
    gate = "gate"
    read = "read"
    full = "full"


def expiry_of(text: str, now: datetime) -> datetime:
    """`90d` (days from now) or `2027-06-30` (00:00 UTC that day) as a UTC time."""
    days = DAYS.match(text)
    if days:
        return now + timedelta(days=int(days.group(1)))
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError as exc:
        raise typer.BadParameter("a number of days (90d) or a date (2027-06-30)") from exc


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. turnstile-north.")],
    scope: Annotated[
        ScopeChoice,
        typer.Option("--scope", help="gate (scanners), read (dashboards) or full (everything)."),
    ],
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="90d (days from now) or 2027-06-30 (00:00 UTC)."),
    ] = None,
    hold_budget: Annotated[
        int | None,
        typer.Option("--hold-budget", help="At most this many holds per risk window (full)."),
    ] = None,
) -> None:
    """Make a key and print it, once: the desk keeps only its SHA-256."""
    now = utcnow()
    expires_at = expiry_of(expires, now) if expires else None
    migrate()
    try:
        view, key = create_key(
            get_sessionmaker(),
            name,
            scope.value,
            expires_at=expires_at,
            hold_budget=hold_budget,
            now=now,
        )
    except ApiKeyError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(key)
    until = f"until {_when(view.expires_at)} UTC" if view.expires_at else "with no expiry"
    typer.echo(
        f"created {view.scope} key {view.name!r} ({view.prefix}...), {until}. "
        "Store it now: it is not shown again.",
        err=True,
    )


@app.command("list")
def list_() -> None:
    """Every key (never the key itself): scope, prefix, dates (UTC), hold budget."""
    migrate()
    with read_session(get_sessionmaker()) as session:
        keys = list_keys(session)
    columns = ("name", "scope", "prefix", "created", "expires", "revoked", "last used", "holds")
    typer.echo(
        f"{columns[0]:24} {columns[1]:5} {columns[2]:12} {columns[3]:16} {columns[4]:16} "
        f"{columns[5]:16} {columns[6]:16} {columns[7]}"
    )
    for key in keys:
        budget = "-" if key.hold_budget is None else str(key.hold_budget)
        typer.echo(
            f"{key.name:24} {key.scope:5} {key.prefix:12} {_when(key.created_at):16} "
            f"{_when(key.expires_at):16} {_when(key.revoked_at):16} "
            f"{_when(key.last_used_at):16} {budget}"
        )


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key for good (to rotate: create a new one, deploy it, revoke the old)."""
    migrate()
    try:
        revoked = revoke_key(get_sessionmaker(), name)
    except ApiKeyError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    if revoked:
        typer.echo(f"revoked {name!r}; running gateways refuse it within {REMEMBER_S:g} s")
    else:
        typer.echo(f"{name!r} was already revoked")
