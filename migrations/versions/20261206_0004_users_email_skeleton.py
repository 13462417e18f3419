"""users email skeleton

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Every user gets the hash of what their email looks like (app.core.emails, the service's own
rules, so the rows and the running code agree), indexed: an email that looks like an
account's is found in one query. Emails are rewritten to the stored form the service now
looks them up in (NFKC, case-folded), unless another account already has that form: those are
logged and kept, for an administrator to rename.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.emails import email_skeleton_hash, normalize_email


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")
USERS = sa.table(
    'users',
    sa.column('id', sa.Integer()),
    sa.column('email', sa.String(length=254)),
    sa.column('email_skeleton_hash', sa.String(length=64)),
)


def upgrade() -> None:
    # SQLite adds a NOT NULL column only with a default, and dropping the default would
    # rebuild the table, whose dependants' foreign keys cascade: the default '' stays there,
    # and every row (and every user the service adds) gets its hash.
    op.add_column('users', sa.Column('email_skeleton_hash', sa.String(length=64), nullable=False, server_default=''))
    connection = op.get_bind()
    rows = connection.execute(sa.select(USERS.c.id, USERS.c.email).order_by(USERS.c.id)).all()
    emails = {email for _, email in rows}
    for user_id, email in rows:
        stored = normalize_email(email)
        if stored != email and stored in emails:
            logger.warning("user %s keeps the email %r: another user has %r; rename one of them", user_id, email, stored)
            stored = email
        emails.discard(email)
        emails.add(stored)
        connection.execute(
            USERS.update()
            .where(USERS.c.id == user_id)
            .values(email=stored, email_skeleton_hash=email_skeleton_hash(stored))
        )
    if connection.dialect.name != 'sqlite':
        op.alter_column('users', 'email_skeleton_hash', server_default=None)
    op.create_index(op.f('ix_users_email_skeleton_hash'), 'users', ['email_skeleton_hash'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_users_email_skeleton_hash'), table_name='users')
    op.drop_column('users', 'email_skeleton_hash')
