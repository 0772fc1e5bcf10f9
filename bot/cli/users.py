"""`desk users ...`: console accounts for agents, supervisors and admins.

The password is read from standard input (prompted for, twice and unechoed, on a
terminal), so it never appears in shell history or the process list:

    desk users create --username mei --role agent --languages zh,en
    printf '%s\\n' "$PASSWORD" | desk users create --username ops --role admin
    desk users password mei        # an admin's reset: their sessions end
    desk users deactivate mei      # they are signed out at once and cannot sign in
    desk users activate mei
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from enum import StrEnum

import typer

from bot.database import get_sessionmaker, migrate
from bot.handoff.agents import create_agent, list_agents, reset_password, set_active
from bot.handoff.errors import HandoffError
from bot.handoff.policy import load_policy
from core.db import read_session

app = typer.Typer(help="Console accounts (agents, supervisors, admins).", no_args_is_help=True)


class RoleChoice(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


def read_password() -> str:
    """The new password: prompted (twice) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise typer.BadParameter("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@app.command("create")
def create(
    username: str = typer.Option(..., "--username", help="Sign-in name (lowercase)."),
    role: RoleChoice = typer.Option(..., "--role", help="agent, supervisor or admin."),
    languages: str = typer.Option("en,zh", "--languages", help="Languages they answer in."),
    name: str = typer.Option("", "--name", help="Name shown to fans (default: username)."),
) -> None:
    """Create a console account; the password comes from standard input."""
    password = read_password()
    migrate()
    try:
        create_agent(
            get_sessionmaker(),
            username,
            password,
            role.value,
            languages=[part.strip() for part in languages.split(",") if part.strip()],
            display_name=name or None,
        )
    except HandoffError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {role.value} {username!r}; sign in at /console/")


@app.command("list")
def list_users() -> None:
    """Every account, with role, languages and whether they are online."""
    migrate()
    timeout = load_policy().queue.presence_timeout_s
    with read_session(get_sessionmaker()) as session:
        for agent in list_agents(session, timeout):
            online = "online" if agent.online else "offline"
            typer.echo(
                f"{agent.username:20} {agent.role:10} {','.join(agent.languages):6} {online}"
            )


def _change(done: str, action: Callable[[], int]) -> None:
    migrate()
    try:
        ended = action()
    except HandoffError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{done}; {ended} session(s) ended")


@app.command("deactivate")
def deactivate(username: str = typer.Argument(..., help="Sign-in name.")) -> None:
    """Stop an account: its sessions end at once and it cannot sign in."""
    _change(f"deactivated {username!r}", lambda: set_active(get_sessionmaker(), username, False))


@app.command("activate")
def activate(username: str = typer.Argument(..., help="Sign-in name.")) -> None:
    """Let a deactivated account sign in again."""
    _change(f"activated {username!r}", lambda: set_active(get_sessionmaker(), username, True))


@app.command("password")
def password(username: str = typer.Argument(..., help="Sign-in name.")) -> None:
    """Set a new password (from standard input); the account's sessions end."""
    new = read_password()
    _change(
        f"new password for {username!r}",
        lambda: reset_password(get_sessionmaker(), username, new),
    )
