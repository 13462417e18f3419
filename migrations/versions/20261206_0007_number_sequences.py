"""number sequences

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Gapless numbers for invoices, credit notes and shipments: one counter per kind of document
and year, moved in the transaction that writes the document.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'number_sequences',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.CheckConstraint('last_number > 0', name=op.f('ck_number_sequences_last_number_positive')),
        sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_number_sequences')),
    )


def downgrade() -> None:
    op.drop_table('number_sequences')
