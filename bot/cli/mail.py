"""`desk mail`: the local mail outbox (what the desk "sent" to fans in development).

desk mail                          the newest messages
desk mail --to fan@example.com     those sent to one address
desk mail --json --limit 1         machine-readable, e.g. for tests and scripts
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bot.database import get_sessionmaker, migrate
from core.db import read_session
from ticketing.mail import outbox


def show(
    to: Annotated[str | None, typer.Option("--to", help="Only messages to this address.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="How many.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Show the newest messages in the local mail outbox, newest first."""
    migrate()
    with read_session(get_sessionmaker()) as session:
        mails = outbox(session, to_address=to, limit=limit)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": m.id,
                        "to": m.to_address,
                        "subject": m.subject,
                        "body": m.body,
                        "created_at": m.created_at.isoformat(),
                    }
                    for m in mails
                ],
                ensure_ascii=False,
            )
        )
        return
    if not mails:
        typer.echo("the outbox is empty" + (f" for {to}" if to else ""))
        return
    for mail in mails:
        typer.echo(f"#{mail.id}  {mail.created_at:%Y-%m-%d %H:%M:%S}  to {mail.to_address}")
        typer.echo(f"Subject: {mail.subject}")
        typer.echo(mail.body.rstrip())
        typer.echo("")
