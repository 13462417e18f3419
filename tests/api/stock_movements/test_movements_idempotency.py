"""Idempotency-Key on stock movements: a retry replays the first answer, keys belong to one
user and one endpoint, and refused requests use up no key."""

import json

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.api.stock_movements.bodies import (
    IDEMPOTENCY_KEY,
    REPLAYED,
    VALIDATION,
    WRITES,
    Write,
    adjustment,
    idempotency_records,
    keyed,
    only_movement,
    waste,
)
from tests.conftest import MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.stock import (
    ADJUSTMENTS,
    KG_STOCK,
    WASTE,
    Stocked,
    assert_refused,
    on_hand,
    snapshot,
)


@pytest.mark.parametrize("write", WRITES)
def test_a_retry_with_the_same_key_replays_the_first_answer(
    client: TestClient, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    before = snapshot()
    headers = keyed(admin.headers, "retry-1")
    first = client.post(write.path, json=write.body(stocked), headers=headers)
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    written = first.json()["movements"]
    assert written
    after_first = snapshot()
    assert after_first.movements == before.movements + len(written)

    second = client.post(write.path, json=write.body(stocked), headers=headers)
    assert second.status_code == 201
    assert second.headers[REPLAYED] == "true"
    assert second.headers["content-type"].startswith("application/json")
    assert second.json() == first.json()
    assert snapshot() == after_first  # exactly one write

    (record,) = idempotency_records("retry-1")
    assert record.user_id == admin.user.id
    assert record.method == "POST"
    assert record.path == write.path
    assert record.status_code == 201
    assert json.loads(record.response_body) == first.json()


@pytest.mark.parametrize("write", WRITES)
def test_the_same_key_with_another_body_is_refused(
    client: TestClient, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    headers = keyed(admin.headers, "retry-2")
    first = client.post(write.path, json=write.body(stocked), headers=headers)
    assert first.status_code == 201, first.text
    changed = {**write.body(stocked), "reference": "ANOTHER-REQUEST"}
    problem = assert_refused(client, write.path, changed, headers, 422, field=IDEMPOTENCY_KEY)
    assert "Idempotency-Key" in problem["detail"]
    assert len(idempotency_records("retry-2")) == 1


@pytest.mark.parametrize("write", WRITES)
def test_keys_belong_to_one_user(
    client: TestClient, make_user: MakeUser, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    manager = sign_in(client, make_user, Role.MANAGER)
    first = client.post(write.path, json=write.body(stocked), headers=keyed(admin.headers, "k1"))
    assert first.status_code == 201, first.text
    before = snapshot()

    other = client.post(
        write.path, json=write.other_user_body(stocked), headers=keyed(manager.headers, "k1")
    )
    assert other.status_code == 201, other.text
    assert REPLAYED not in other.headers
    movements = other.json()["movements"]
    assert movements
    assert {row["actor_id"] for row in movements} == {manager.user.id}
    first_ids = {row["id"] for row in first.json()["movements"]}
    assert first_ids.isdisjoint(row["id"] for row in movements)
    assert snapshot().movements == before.movements + len(movements)
    assert {record.user_id for record in idempotency_records("k1")} == {
        admin.user.id,
        manager.user.id,
    }


@pytest.mark.parametrize("write", WRITES)
def test_a_refused_request_does_not_use_up_the_key(
    client: TestClient, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    headers = keyed(admin.headers, "retry-3")
    assert_refused(client, write.path, write.refused(stocked), headers, write.refused_status)
    assert idempotency_records("retry-3") == []
    # The same refusal again is refused again, not replayed.
    again = client.post(write.path, json=write.refused(stocked), headers=headers)
    assert again.status_code == write.refused_status
    assert REPLAYED not in again.headers

    accepted = client.post(write.path, json=write.body(stocked), headers=headers)
    assert accepted.status_code == 201, accepted.text
    assert REPLAYED not in accepted.headers
    assert accepted.json()["movements"]
    assert len(idempotency_records("retry-3")) == 1


def test_a_key_used_on_one_endpoint_cannot_be_used_on_another(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    headers = keyed(admin.headers, "shared-key")
    assert client.post(WASTE, json=waste(stocked), headers=headers).status_code == 201
    assert_refused(client, ADJUSTMENTS, adjustment(stocked), headers, 422, field=IDEMPOTENCY_KEY)


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "tab\tkey"])
def test_malformed_keys_are_refused(
    client: TestClient, admin: SignedIn, stocked: Stocked, key: str
) -> None:
    headers = {**admin.headers, IDEMPOTENCY_KEY: key}
    before = snapshot()
    response = client.post(WASTE, json=waste(stocked), headers=headers)
    assert_problem(response, 422, VALIDATION, field=IDEMPOTENCY_KEY)
    assert snapshot() == before


def test_without_a_key_each_request_is_a_new_movement(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    before = snapshot()
    for _ in range(2):
        only_movement(client.post(WASTE, json=waste(stocked), headers=admin.headers))
    assert snapshot().movements == before.movements + 2
    assert snapshot().idempotency_keys == 0
    assert on_hand(client, admin.headers, stocked.kg_lot, stocked.world.main) == KG_STOCK - 10
