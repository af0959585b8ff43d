"""pay app review and attachments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:01:26.504552
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import paydraw.db.types


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the new NOT NULL columns of rows that already exist.
    with op.batch_alter_table('pay_app_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_work', paydraw.db.types.Money(), nullable=True))
        batch_op.add_column(sa.Column('submitted_stored', paydraw.db.types.Money(), nullable=True))
        batch_op.add_column(sa.Column('approved', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('review_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))

    with op.batch_alter_table('pay_apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('pay_apps', schema=None) as batch_op:
        batch_op.drop_column('review_note')
        batch_op.drop_column('attachments')

    with op.batch_alter_table('pay_app_lines', schema=None) as batch_op:
        batch_op.drop_column('review_reason')
        batch_op.drop_column('approved')
        batch_op.drop_column('submitted_stored')
        batch_op.drop_column('submitted_work')
