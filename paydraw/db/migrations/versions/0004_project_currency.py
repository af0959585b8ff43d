"""project currency: the ISO 4217 code its amounts are shown in (USD until set)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'currency',
                sqlmodel.sql.sqltypes.AutoString(length=3),
                nullable=False,
                server_default='USD',
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('currency')
