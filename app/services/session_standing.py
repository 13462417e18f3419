"""Whether a session is open and what its user may do, kept in the process for a few seconds.

The async reads ask it on every request, so a worker keeps each answer for STANDING_SECONDS,
but only while it listens to Redis: a commit that revokes a session or changes a user's role,
state or password duty publishes the user's id, and every listening process forgets what it
kept of that user (the committing process at once, the others within the message's travel).
Without Redis, or while Redis is away, nothing is kept and each request reads the database.
A bulk UPDATE of sessions forgets everyone; bulk UPDATEs of users must leave these columns
alone (the ORM's flush reports them).
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.core.cache import get_redis
from app.core.config import get_settings
from app.models.user import Role, User, UserSession

logger = logging.getLogger("app.auth")

STANDING_SECONDS = 10.0
MOST_KEPT = 10_000
CHANNEL = "dfims:session-standing"
EVERYONE = "*"
_RECONNECT_SECONDS = 1.0
_USER_COLUMNS = ("email", "role", "is_active", "must_change_password")
_SESSION_COLUMNS = ("revoked_at", "expires_at")
_CHANGED = "standing_changed"


@dataclass(frozen=True)
class Standing:
    """A session's row and its user's, as far as admitting a request needs them."""

    user_id: int
    revoked_at: datetime | None
    expires_at: datetime
    email: str
    role: Role
    is_active: bool
    must_change_password: bool


_kept: dict[str, tuple[float, Standing]] = {}
_listening = False
_forgotten = 0


def recall(session_id: str) -> Standing | None:
    """The standing kept of ``session_id``, if fresh."""
    entry = _kept.get(session_id)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def generation() -> int:
    """How many times something was forgotten: taken before a read, it tells ``keep`` whether
    a change came while the read was on its way."""
    return _forgotten


def keep(session_id: str, standing: Standing, seen: int) -> None:
    """Keep ``standing`` of ``session_id``, read after ``generation()`` was ``seen``, for a
    few seconds, while Redis reports changes and none came since."""
    if not _listening or seen != _forgotten:
        return
    if len(_kept) >= MOST_KEPT:
        _kept.clear()
    _kept[session_id] = (time.monotonic() + STANDING_SECONDS, standing)


def forget(user_ids: Iterable[str]) -> None:
    """Forget what is kept of these users (``EVERYONE``: of all)."""
    global _forgotten
    _forgotten += 1
    wanted = set(user_ids)
    if EVERYONE in wanted:
        _kept.clear()
        return
    for session_id, (_, standing) in list(_kept.items()):
        if str(standing.user_id) in wanted:
            _kept.pop(session_id, None)


@asynccontextmanager
async def listening() -> AsyncIterator[None]:
    """Listen for changes while the application serves (when REDIS_URL is set)."""
    url = get_settings().REDIS_URL
    if not url:
        yield
        return
    task = asyncio.create_task(_listen(url))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _listen(url: str) -> None:
    global _listening
    heard = True
    while True:
        client = AsyncRedis.from_url(url, decode_responses=True)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                _listening = heard = True
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        forget(str(message["data"]).split(","))
        except (RedisError, OSError) as exc:
            if heard:  # once per outage, not once per attempt
                logger.warning("session changes unheard, nothing kept: %s", type(exc).__name__)
            heard = False
        finally:
            _listening = False
            _kept.clear()
            await client.aclose()
        await asyncio.sleep(_RECONNECT_SECONDS)


def _changes(db: Session) -> set[str]:
    changed: set[str] = db.info.setdefault(_CHANGED, set())
    return changed


def _altered(row: Any, columns: tuple[str, ...]) -> bool:
    state = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in columns)


@event.listens_for(Session, "after_flush")
def _note_flushed(db: Session, _flush: UOWTransaction) -> None:
    for row in (*db.dirty, *db.deleted):
        if isinstance(row, User) and _altered(row, _USER_COLUMNS):
            _changes(db).add(str(row.id))
        elif isinstance(row, UserSession) and _altered(row, _SESSION_COLUMNS):
            _changes(db).add(str(row.user_id))


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if state.is_update and mapper is not None and mapper.class_ is UserSession:
        _changes(state.session).add(EVERYONE)


@event.listens_for(Session, "after_commit")
def _announce(db: Session) -> None:
    changed = db.info.pop(_CHANGED, None)
    if not changed:
        return
    forget(changed)
    client = get_redis()
    if client is None:
        return
    try:
        client.publish(CHANNEL, ",".join(sorted(changed)))
    except RedisError as exc:
        logger.warning("session change not announced: %s", type(exc).__name__)


@event.listens_for(Session, "after_rollback")
def _drop(db: Session) -> None:
    db.info.pop(_CHANGED, None)
