"""the club the desk sells for, and the names of its price categories, as data

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-16 10:00:00

The club's names, order prefix, own team and home ground (whose time zone is the
club's) were constants in the code; they are now one row of `clubs`, and the seating
categories' names rows of `price_categories`, both written by the club's data loader
(`desk prepare`). A database upgraded from 0005 gets them at the next `desk prepare`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clubs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("name_zh", sa.String(length=120), nullable=False),
        sa.Column("short_name_en", sa.String(length=60), nullable=False),
        sa.Column("short_name_zh", sa.String(length=60), nullable=False),
        sa.Column("order_prefix", sa.String(length=4), nullable=False),
        sa.Column("home_team_id", sa.String(length=64), nullable=False),
        sa.Column("venue_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["home_team_id"], ["teams.id"], name=op.f("fk_clubs_home_team_id_teams")
        ),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_clubs_venue_id_venues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clubs")),
    )
    op.create_table(
        "price_categories",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("name_zh", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_categories")),
    )


def downgrade() -> None:
    op.drop_table("price_categories")
    op.drop_table("clubs")
