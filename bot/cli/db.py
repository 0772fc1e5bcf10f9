"""`desk db ...`: the database schema."""

from __future__ import annotations

import typer

from bot.database import migrate as run_migrations
from core.settings import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("migrate")
def migrate() -> None:
    """Apply all migrations to DATABASE_URL (safe to run again)."""
    run_migrations()
    typer.echo(f"database is up to date: {_redacted(get_settings().database_url)}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
