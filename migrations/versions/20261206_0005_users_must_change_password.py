"""users must change password

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A user whose password someone else chose (an administrator creating the account or resetting
its password, or a generated first password) changes it at their next login before doing
anything else. Existing accounts keep their passwords as they are: the flag starts false.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('users', 'must_change_password')
