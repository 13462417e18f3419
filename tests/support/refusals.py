"""Refused page forms: the submissions the pages are sent, the accounts that send them, and
the fingerprint of every table that shows a refusal kept nothing."""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core.database import Base, SessionLocal, engine
from app.models.user import Role, User
from app.services import customers, users
from app.services.audit import Actor
from tests.conftest import PASSWORD

ACTOR = Actor(user_id=None, label="refusal-tests")
Fingerprint = dict[str, tuple[int, str]]


@dataclass(frozen=True)
class Sent:
    """A submission: its address, its fields (besides the hidden ones) and its files."""

    url: str
    data: dict[str, str]
    files: dict[str, tuple[str, bytes, str]] | None = None


def account(role: Role) -> User:
    """A committed user of ``role`` (a customer user owns its customer record)."""
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    with SessionLocal() as db:
        if role == Role.CUSTOMER:
            user = customers.register(db, email=email, password=PASSWORD, full_name="Corner Shop")
        else:
            user = users.create_user(db, ACTOR, email=email, password=PASSWORD, role=role)
        db.commit()
        return user


def lines_of(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> dict[str, str]:
    """The fields of a table form: ``lines.N.name`` for each row."""
    return {
        f"lines.{number}.{name}": str(value)
        for number, row in enumerate(rows)
        for name, value in zip(names, row, strict=True)
    }


def fingerprint(kept: tuple[str, ...] = ()) -> Fingerprint:
    """Per table, its row count and a hash of its rows in primary-key order, less ``kept``."""
    prints: Fingerprint = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if f"{table.name}.{c.name}" not in kept]
            order = list(table.primary_key.columns) or columns
            rows = connection.execute(select(*columns).order_by(*order)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            prints[table.name] = (len(rows), digest)
    return prints


def changed(before: Fingerprint, after: Fingerprint) -> list[str]:
    """The tables whose rows differ, with their row counts before and after."""
    return [
        f"{name}: {before[name][0]} -> {after[name][0]} rows"
        for name in before
        if before[name] != after[name]
    ]


def ids(product_id: int, warehouse_id: int) -> dict[str, str]:
    """The product and warehouse fields of a stock form."""
    return {"product_id": str(product_id), "warehouse_id": str(warehouse_id)}


def send(client: TestClient, sent: Sent, hidden: dict[str, str]) -> Response:
    """POST the submission with the hidden fields, not following a redirect."""
    return client.post(
        sent.url, data={**hidden, **sent.data}, files=sent.files, follow_redirects=False
    )
