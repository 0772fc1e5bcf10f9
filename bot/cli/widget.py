"""`desk widget ...`: the web chat widget's sessions.

    desk widget revoke web-AbC...   # the conversation id, as the console shows it

A revoked conversation's tokens are refused from then on (resume, history, a socket's
hello); its open sockets are closed by every running gateway within its sweep interval,
and its widget starts a fresh conversation. See docs/security.md, "Widget sessions".
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from bot.channels.webchat.revocations import NotAWidgetConversation, revoke
from bot.channels.webchat.socket import SWEEP_EVERY_S
from bot.database import get_sessionmaker, migrate
from core.clock import utcnow

app = typer.Typer(help="The web chat widget: end a conversation's sessions.", no_args_is_help=True)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container, say)
        return "cli"


@app.command("revoke")
def revoke_conversation(
    conversation_id: Annotated[str, typer.Argument(help="The widget conversation (web-...).")],
) -> None:
    """Refuse every token of a widget conversation issued until now and close its sockets."""
    migrate()
    now = utcnow()
    try:
        revoke(get_sessionmaker(), conversation_id, _operator(), now)
    except NotAWidgetConversation as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"revoked {conversation_id} at {now:%Y-%m-%d %H:%M:%S}Z: its tokens are refused; "
        f"running gateways close its open chats within {SWEEP_EVERY_S:.0f} s"
    )
