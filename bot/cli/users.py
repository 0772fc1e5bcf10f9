"""`desk users ...`: console accounts for agents, supervisors and admins.

The password is read from standard input (prompted for, twice and unechoed, on a
terminal), so it never appears in shell history or the process list:

    desk users create --username mei --role agent --languages zh,en
    printf '%s\\n' "$PASSWORD" | desk users create --username ops --role admin
"""

from __future__ import annotations

import getpass
import sys
from enum import StrEnum

import typer

from bot.database import get_sessionmaker, migrate
from bot.handoff.agents import create_agent, list_agents
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
