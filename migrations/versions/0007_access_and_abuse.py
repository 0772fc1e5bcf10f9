"""access and abuse: scoped API keys, holds that name who asked, refusals per minute,
sign-in failures per (username, address), revoked widget conversations

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 15:30:00

`risk_counters` (per day) becomes `risk_counts` (per minute): each day's rows are
carried over at that day's midnight, so totals by reason and fixture stay the same.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("hold_budget", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("username", "address", "minute", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_failures_minute", ["minute"], unique=False)
    op.create_table(
        "widget_revocations",
        sa.Column("conversation_id", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_widget_revocations")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_address", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("source_origin", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("source_key", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_holds_source_address_created", ["source_address", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_holds_source_origin_created", ["source_origin", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_holds_source_key_created", ["source_key", "created_at"], unique=False
        )

    counts = op.create_table(
        "risk_counts",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fixture_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "fixture_id", "reason", name=op.f("pk_risk_counts")),
    )
    _carry_days_over(counts)
    op.drop_table("risk_counters")


def _carry_days_over(counts: sa.Table) -> None:
    from datetime import UTC, date, datetime, time

    bind = op.get_bind()
    old = sa.table(
        "risk_counters",
        sa.column("day", sa.String()),
        sa.column("fixture_id", sa.Integer()),
        sa.column("reason", sa.String()),
        sa.column("count", sa.Integer()),
    )
    rows = [
        {
            "minute": datetime.combine(date.fromisoformat(day), time(), UTC),
            "fixture_id": fixture_id,
            "reason": reason,
            "count": count,
        }
        for day, fixture_id, reason, count in bind.execute(sa.select(old)).tuples()
    ]
    if rows:
        op.bulk_insert(counts, rows)


def downgrade() -> None:
    op.create_table(
        "risk_counters",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("fixture_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "fixture_id", "reason", name=op.f("pk_risk_counters")),
    )
    op.drop_table("risk_counts")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_source_key_created")
        batch_op.drop_index("ix_holds_source_origin_created")
        batch_op.drop_index("ix_holds_source_address_created")
        batch_op.drop_column("source_key")
        batch_op.drop_column("source_origin")
        batch_op.drop_column("source_address")
    op.drop_table("widget_revocations")
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_failures_minute")
    op.drop_table("sign_in_failures")
    op.drop_table("api_keys")
