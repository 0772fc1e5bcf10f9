"""`desk notify ...`: the proactive notices' outbox (the running desk sends them)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import update

from bot.database import get_sessionmaker, migrate
from core.clock import utcnow
from core.db import rowcount, write_session

app = typer.Typer(help="Proactive notices: match-day packs, the outbox.", no_args_is_help=True)


@app.command("matchday")
def matchday(
    fixture: Annotated[int, typer.Argument(help="Fixture id (see `desk tickets fixtures`).")],
) -> None:
    """Queue the match-day pack for every fan holding a ticket, now (each fan gets it once)."""
    from bot.notifications.sources import enqueue_matchday_now

    migrate()
    queued = enqueue_matchday_now(get_sessionmaker(), fixture)
    if queued is None:
        typer.secho(f"no fixture {fixture}", fg="red", err=True)
        raise typer.Exit(2)
    typer.echo(
        f"{queued} match-day packs queued for fixture {fixture} (the running desk sends them)"
    )


@app.command("list")
def list_(
    failed: Annotated[bool, typer.Option("--failed", help="Only notices with an error.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 30,
) -> None:
    """The newest notices with their status, attempts and last error."""
    from bot.notifications.outbox import counts, recent

    sessions = get_sessionmaker()
    totals = counts(sessions)
    typer.echo(", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "no notices")
    for n in recent(sessions, limit, failed_only=failed):
        sent = f"{n.sent_at:%Y-%m-%d %H:%M}Z" if n.sent_at else "-"
        typer.echo(
            f"{n.id:>6}  {n.status:<8} {n.kind:<18} {n.customer:<24} {n.channel:<8} "
            f"attempts {n.attempts}  sent {sent}  {n.last_error or ''}"
        )


@app.command("retry")
def retry(
    notice: Annotated[list[int], typer.Argument(help="Ids of failed notices to send again.")],
) -> None:
    """Put failed notices back in the queue (e.g. after fixing the bot token)."""
    from bot.notifications.models import Notice

    with write_session(get_sessionmaker()) as session:
        changed = rowcount(
            session.execute(
                update(Notice)
                .where(Notice.id.in_(notice), Notice.status == "failed")
                .values(status="pending", attempts=0, next_attempt_at=utcnow())
            )
        )
    typer.echo(f"{changed} notices queued again")
