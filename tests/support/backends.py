"""PostgreSQL backends of the run's database: which one a connection uses, and ending one."""

import psycopg
from sqlalchemy import Integer, literal_column, select

from tests.environment import TEST_DATABASE_URL

BACKEND = select(literal_column("pg_backend_pid()", Integer).label("pid"))


def terminate(pid: int) -> None:
    """End backend ``pid``, as a failover or an administrator would."""
    url = TEST_DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
