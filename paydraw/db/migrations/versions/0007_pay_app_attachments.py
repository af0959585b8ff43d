"""pay app attachments: backup documents stored as objects, one row per file

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'pay_app_attachments',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('pay_app_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['pay_app_id'], ['pay_apps.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('storage_key'),
    )
    op.create_index(
        op.f('ix_pay_app_attachments_pay_app_id'),
        'pay_app_attachments',
        ['pay_app_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_pay_app_attachments_pay_app_id'), table_name='pay_app_attachments')
    op.drop_table('pay_app_attachments')
