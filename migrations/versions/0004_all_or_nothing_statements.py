"""a function that makes a one-statement write all or nothing

Revision ID: 0004
Revises: d001
Create Date: 2026-12-02 15:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "d001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL only: the hold and the payment's reservation run as single statements
    # in autocommit there (`ticketing.db.ABORT`); SQLite runs them in transactions.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION ticketing_abort(reason text) RETURNS integer AS $$ "
        "BEGIN RAISE EXCEPTION USING ERRCODE = 'MD001', MESSAGE = reason; END $$ "
        "LANGUAGE plpgsql VOLATILE"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS ticketing_abort(text)")
