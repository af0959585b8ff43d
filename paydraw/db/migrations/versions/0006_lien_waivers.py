"""lien waivers: the kinds a project requires, the signed waivers and an admin's exemptions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import paydraw.db.types


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('required_lien_waivers', sa.JSON(), nullable=False, server_default='[]')
        )
    op.create_table(
        'lien_waivers',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('pay_app_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('commitment_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('amount', paydraw.db.types.Money(), nullable=False),
        sa.Column('through_date', sa.Date(), nullable=False),
        sa.Column('claimant', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('customer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('job', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('exceptions', sa.Text(), nullable=False),
        sa.Column('signer_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('signer_title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=False),
        sa.Column('signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('signed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['pay_app_id'], ['pay_apps.id']),
        sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id']),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pay_app_id', 'kind', 'amount'),
    )
    for column in ('pay_app_id', 'commitment_id', 'project_id'):
        op.create_index(op.f(f'ix_lien_waivers_{column}'), 'lien_waivers', [column], unique=False)
    op.create_table(
        'lien_waiver_exemptions',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('pay_app_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('waived_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('waived_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['pay_app_id'], ['pay_apps.id']),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pay_app_id', 'kind'),
    )
    for column in ('pay_app_id', 'project_id'):
        op.create_index(
            op.f(f'ix_lien_waiver_exemptions_{column}'),
            'lien_waiver_exemptions',
            [column],
            unique=False,
        )


def downgrade() -> None:
    for column in ('pay_app_id', 'project_id'):
        op.drop_index(
            op.f(f'ix_lien_waiver_exemptions_{column}'), table_name='lien_waiver_exemptions'
        )
    op.drop_table('lien_waiver_exemptions')
    for column in ('pay_app_id', 'commitment_id', 'project_id'):
        op.drop_index(op.f(f'ix_lien_waivers_{column}'), table_name='lien_waivers')
    op.drop_table('lien_waivers')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('required_lien_waivers')
