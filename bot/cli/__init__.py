"""The `desk` command (also `python -m bot`): run, prepare and operate the desk."""

from __future__ import annotations

import typer

from bot.cli import (
    api_keys,
    db,
    knowledge,
    mail,
    notify,
    rasa,
    stack,
    texts,
    tickets,
    users,
    widget,
)

app = typer.Typer(
    help="Matchday Desk: support desk for football ticketing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(api_keys.app, name="api-keys")
app.add_typer(db.app, name="db")
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(notify.app, name="notify")
app.add_typer(rasa.app, name="rasa")
app.add_typer(texts.app, name="texts")
app.add_typer(tickets.app, name="tickets")
app.add_typer(users.app, name="users")
app.add_typer(widget.app, name="widget")
app.command("prepare")(stack.prepare)
app.command("run")(stack.run)
app.command("serve")(stack.serve)
app.command("config")(stack.show_config)
app.command("mail")(mail.show)


def main() -> None:
    """Entry point of the `desk` console script."""
    app()
