"""Alembic environment: one history for the engine's and the gateway's tables."""

from __future__ import annotations

from alembic import context

# Imported for their tables, which join the one metadata of `core.db.Base`.
import bot.api.models
import bot.channels.telegram.models
import bot.channels.webchat.models
import bot.conversations.models
import bot.handoff.models
import bot.notifications.models  # noqa: F401
import ticketing.mail
import ticketing.models
import ticketing.verification  # noqa: F401
from core.db import Base, UTCDateTime, is_sqlite, make_engine
from core.settings import get_settings

target_metadata = Base.metadata


def run_migrations() -> None:
    url = context.config.attributes.get("database_url") or get_settings().database_url
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable, url)
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection, url)
    engine.dispose()


def _render_item(kind: str, obj: object, autogen_context: object) -> str | bool:
    """Autogenerate writes project column types as plain SQLAlchemy types."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: object, url: str) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(url),
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `desk db migrate`")
run_migrations()
