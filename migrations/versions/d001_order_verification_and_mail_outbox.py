"""order verification and mail outbox

Revision ID: d001
Revises: t001
Create Date: 2026-12-01 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd001'
down_revision: str | None = 't001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_to_created', ['to_address', 'created_at'], unique=False)

    op.create_table('order_verifications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('email_digest', sa.String(length=64), nullable=False),
    sa.Column('code_salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_order_verifications_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_verifications_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_verifications'))
    )
    with op.batch_alter_table('order_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_order_verifications_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_order_verifications_email_created', ['email_digest', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('order_verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_order_verifications_email_created')
        batch_op.drop_index('ix_order_verifications_customer_created')
    op.drop_table('order_verifications')
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_to_created')
    op.drop_table('mail_outbox')
