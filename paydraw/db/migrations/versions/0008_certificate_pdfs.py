"""certificate PDFs: a finalized pay app's G702/G703, frozen and printed once; the project's
notary setting

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'certificate_pdfs',
        sa.Column('pay_app_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=True),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('frozen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('printed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['pay_app_id'], ['pay_apps.id']),
        sa.PrimaryKeyConstraint('pay_app_id'),
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('notary_required', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('notary_required')
    op.drop_table('certificate_pdfs')
