"""Schemathesis over the whole OpenAPI schema, as each role and anonymously.

Every operation gets a bounded, reproducible set of generated requests, valid and invalid
ones, sent to the app in-process over a seeded database; the ids in paths, queries and
bodies of the valid ones mostly name seeded records, so requests get past "not found". No
answer may be a server error, and each one's status code, content type, headers and body
must be among those the schema documents for the operation. The seeding's own requests,
which walk orders and purchase orders through their states, are held to the schema too.

DFIMS_FUZZ_EXAMPLES sets the examples per operation (10). The requests made per role are
printed, and written as JSON to the file DFIMS_FUZZ_REPORT names, if set.
"""

import fcntl
import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from httpx2 import Response as ClientResponse
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.schemas import OpenApiSchema

from app.main import app
from app.models.user import Role
from tests.conftest import PASSWORD, MakeUser, bearer, login
from tests.support.callers import ANONYMOUS
from tests.support.sales import advance, make_customer, order_line, place_order
from tests.support.stock import (
    API,
    make_category,
    make_product,
    make_supplier,
    make_warehouse,
    receive,
)

EXAMPLES = int(os.environ.get("DFIMS_FUZZ_EXAMPLES", "10"))
PROBES = 3  # examples that tell whether the role may use the operation at all
REFUSALS = {401, 403}
ROLES = [ANONYMOUS, *(role.value for role in Role)]
ME = f"{API}/users/me"
AUTH = f"{API}/auth/"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# Which seeded records a parameter or body field of this name names.
ID_KINDS = {
    "user_id": "user",
    "actor_id": "user",
    "customer_id": "customer",
    "product_id": "product",
    "category_id": "category",
    "lot_id": "lot",
    "document_id": "document",
    "warehouse_id": "warehouse",
    "from_warehouse_id": "warehouse",
    "to_warehouse_id": "warehouse",
    "supplier_id": "supplier",
    "line_id": "line",
    "address_id": "address",
    "delivery_address_id": "address",
}
ITEM_KINDS = {"categories": "category", "suppliers": "supplier", "warehouses": "warehouse"}


def checks() -> list[CheckFunction]:
    """No server error; status code, content type, headers and body as documented."""
    return [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.content_type_conformance,
        schemathesis.checks.response_headers_conformance,
        schemathesis.checks.response_schema_conformance,
    ]


@cache
def api_schema() -> OpenApiSchema:
    """The app's OpenAPI schema, loaded once."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@cache
def operations() -> list[APIOperation]:
    """Every operation the schema documents."""
    return [result.ok() for result in api_schema().get_all_operations()]


@cache
def case_strategy(label: str) -> st.SearchStrategy[Case]:
    """Requests to the operation, valid and invalid ones (built once for every role)."""
    operation = next(operation for operation in operations() if operation.label == label)
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )


# --------------------------------------------------------------------------- seed data


@contextmanager
def held_to_schema(client: TestClient) -> Iterator[None]:
    """Check every answer ``client`` gets against the operation's documented responses."""

    def check(response: ClientResponse) -> None:
        response.read()
        request = response.request
        operation = api_schema().find_operation_by_path(request.method, request.url.path)
        assert operation is not None, f"{request.method} {request.url.path} is not documented"
        operation.Case().validate_response(response, checks=checks())

    hooks = client.event_hooks
    client.event_hooks = {**hooks, "response": [*hooks["response"], check]}
    try:
        yield
    finally:
        client.event_hooks = hooks


@dataclass
class World:
    """The seeded records the requests name, by kind, and the customer user who owns some."""

    ids: dict[str, list[int]] = field(default_factory=dict)
    sessions: list[str] = field(default_factory=list)
    shopper: str = ""

    def add(self, kind: str, *ids: int) -> None:
        self.ids.setdefault(kind, []).extend(ids)


def ok(response: ClientResponse) -> Any:
    """The JSON of a successful answer."""
    assert response.is_success, response.text
    return response.json() if response.content else None


def seed_world(client: TestClient, make_user: MakeUser) -> World:
    """A catalog with prices and an image; stock in lots, one with a document; customers, one
    a registered customer user; sales and purchase orders in each state; users of each role
    with an open session."""
    world = World()
    admin = bearer(login(client, make_user(role=Role.ADMIN).email)["access_token"])
    world.add("category", make_category("Dates"), make_category("Nuts"))
    world.add("supplier", make_supplier("SUNNY"), make_supplier("OLD", active=False))
    main, spare = make_warehouse("MAIN"), make_warehouse("SPARE")
    world.add("warehouse", main, spare, make_warehouse("SHUT", active=False))
    dates, nuts = make_product("DATE-1"), make_product("NUT-1")
    world.add("product", dates, nuts, make_product("GONE-1", active=False))
    for product in (dates, nuts):
        ok(
            client.put(
                f"{API}/products/{product}/prices/retail", json={"price": "12.50"}, headers=admin
            )
        )
    image = {"file": ("dates.png", PNG, "image/png")}
    ok(client.put(f"{API}/products/{dates}/image", files=image, headers=admin))

    best_before = (date.today() + timedelta(days=120)).isoformat()
    for product, warehouse, code in (
        (dates, main, "L-1"),
        (nuts, main, "L-2"),
        (dates, spare, "L-3"),
    ):
        movement = receive(client, admin, product, warehouse, code, "500", best_before=best_before)
        world.add("lot", movement["lot_id"])
    lot = world.ids["lot"][0]
    for name, data, kind in (("coa.pdf", PDF, "application/pdf"), ("label.png", PNG, "image/png")):
        document = client.post(
            f"{API}/lots/{lot}/documents", files={"file": (name, data, kind)}, headers=admin
        )
        world.add("document", ok(document)["id"])

    world.shopper = "shopper@example.com"
    body = {"email": world.shopper, "password": PASSWORD, "full_name": "Corner Shop"}
    ok(client.post(f"{AUTH}register", json=body))
    shopper = bearer(login(client, world.shopper)["access_token"])
    world.add("user", ok(client.get(f"{API}/users/me", headers=shopper))["id"])
    world.add(
        "customer",
        make_customer("Oasis Foods"),
        ok(client.get(f"{API}/customers/me", headers=shopper))["id"],
    )
    for customer, headers in zip(world.ids["customer"], (admin, shopper), strict=True):
        for kind in ("delivery", "billing"):
            body = {"kind": kind, "street": "1 Dock Road", "country": "GB"}
            world.add(
                "address",
                ok(
                    client.post(f"{API}/customers/{customer}/addresses", json=body, headers=headers)
                )["id"],
            )
    for customer, headers in ((world.ids["customer"][0], admin), (None, shopper)):
        for actions in (
            (),
            ("confirm",),
            ("confirm", "ship"),
            ("confirm", "ship", "deliver"),
            ("cancel",),
        ):
            order = place_order(
                client, headers, customer, [order_line(dates, "2"), order_line(nuts, "1")]
            )
            order = advance(client, admin, order["id"], *actions) or order
            world.add("order", order["id"])
            world.add("line", *(line["id"] for line in order["lines"]))

    for actions in ((), ("send",), ("send", "receipts"), ("cancel",)):
        lines = [{"product_id": nuts, "quantity": "40", "unit_cost": "3.10"}]
        body = {"supplier_id": world.ids["supplier"][0], "warehouse_id": main, "lines": lines}
        purchase = ok(client.post(f"{API}/purchase-orders", json=body, headers=admin))
        for action in actions:
            delivery = None
            if action == "receipts":
                line = {
                    "line_id": purchase["lines"][0]["id"],
                    "quantity": "10",
                    "lot_code": f"L-PO-{purchase['id']}",
                    "best_before": best_before,
                }
                delivery = {"lines": [line]}
            ok(
                client.post(
                    f"{API}/purchase-orders/{purchase['id']}/{action}", json=delivery, headers=admin
                )
            )
        world.add("purchase", purchase["id"])
        world.add("line", purchase["lines"][0]["id"])

    for role in Role:
        user = make_user(role=role)
        world.add("user", user.id)
        login(client, user.email)
    for user_id in world.ids["user"]:
        sessions = ok(client.get(f"{API}/users/{user_id}/sessions", headers=admin))
        world.sessions.extend(session["id"] for session in sessions)
    return world


# --------------------------------------------------------------------------- the caller


class Identity:
    """Who the requests are sent as: a signed-in user of the role, signed in again, or
    replaced, once a request of the run has ended its session, deactivated it or changed
    its role; or nobody."""

    def __init__(self, role: str, client: TestClient, make_user: MakeUser, world: World) -> None:
        self.role = role
        self.client = client
        self.make_user = make_user
        self.world = world
        self.headers: dict[str, str] = {}
        self.sign_in()

    def sign_in(self) -> None:
        if self.role == ANONYMOUS:
            return
        if self.role == Role.CUSTOMER:
            email = self.world.shopper  # owns some of the seeded orders
        else:
            email = self.make_user(role=Role(self.role)).email
        self.headers = bearer(login(self.client, email)["access_token"])

    def signed_in_again(self) -> bool:
        """Whether the caller had lost its session or role, and now has them back."""
        if self.role == ANONYMOUS:
            return False
        me = self.client.get(ME, headers=self.headers)
        if me.status_code == 200 and me.json()["role"] == self.role:
            return False
        self.sign_in()
        return True


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    """The requests made as one role, and what the checks found."""

    identity: Identity
    world: World
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str, int], str] = field(default_factory=dict)

    def records(self, path: str, name: str) -> list[int]:
        """The seeded ids a parameter ``name`` of the operation at ``path`` may take."""
        if name == "item_id":
            return self.world.ids[ITEM_KINDS[path.split("/")[3]]]
        if name == "order_id":
            return self.world.ids["purchase" if "/purchase-orders" in path else "order"]
        return self.world.ids.get(ID_KINDS.get(name, ""), [])

    def name_records(self, case: Case, pick: int) -> None:
        """Put seeded ids (and sessions) in place of the generated ones."""
        path = case.operation.path
        for container in (case.path_parameters, case.query):
            for name, value in list((container or {}).items()):
                if name == "session_id":
                    container[name] = self.world.sessions[pick % len(self.world.sessions)]
                elif isinstance(value, int) and (ids := self.records(path, name)):
                    container[name] = ids[pick % len(ids)]
        self.name_records_in(case.body, pick)

    def name_records_in(self, body: Any, pick: int) -> None:
        if isinstance(body, dict):
            items: Any = body.items()
        elif isinstance(body, list):
            items = enumerate(body)
        else:
            return
        for key, value in list(items):
            ids = self.world.ids.get(ID_KINDS.get(str(key), ""))
            if isinstance(value, int) and not isinstance(value, bool) and ids:
                body[key] = ids[pick % len(ids)]
            else:
                self.name_records_in(value, pick)

    def send(self, case: Case) -> int:
        """Send ``case`` as the caller and check the answer; its status."""
        if self.identity.role == ANONYMOUS and case.headers:
            case.headers.pop("Authorization", None)
        response = self.call(case)
        if (
            response.status_code == 401
            and not case.operation.path.startswith(AUTH)
            and self.identity.signed_in_again()
        ):
            response = self.call(case)  # what the role itself gets
        return response.status_code

    def call(self, case: Case) -> schemathesis.Response:
        headers = self.identity.headers
        response = case.call(headers=headers)
        self.requests[case.operation.label] += 1
        self.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks(), headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (case.operation.label, failure.title, response.status_code)
                self.failures.setdefault(key, f"{failure.message}\n{case.as_curl_command(headers)}")
        return response

    def exercise(self, operation: APIOperation) -> None:
        """Send the operation a few examples and, unless they were all refused for want of
        a token or a role, the rest of its examples."""
        answers = self.examples(operation, phase=1, count=PROBES)
        refused = answers <= REFUSALS and not operation.path.startswith(AUTH)
        if not refused:
            self.examples(operation, phase=2, count=EXAMPLES - PROBES)
        self.identity.signed_in_again()

    def examples(self, operation: APIOperation, phase: int, count: int) -> set[int]:
        """Send ``count`` requests to ``operation``, the same ones each run; their statuses."""
        statuses: set[int] = set()

        @seed(phase)
        @settings(
            max_examples=count,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=case_strategy(operation.label), pick=st.integers(min_value=0, max_value=7))
        def send(case: Case, pick: int) -> None:
            if pick and case.meta is not None and case.meta.generation.mode.is_positive:
                self.name_records(case, pick)
            statuses.add(self.send(case))

        send()
        return statuses


def report(role: str, run: Run) -> None:
    """Print the requests made, and add them to the DFIMS_FUZZ_REPORT file if set."""
    total = sum(run.requests.values())
    print(f"\nschema fuzz as {role}: {total} requests over {len(run.requests)} operations")
    path = os.environ.get("DFIMS_FUZZ_REPORT")
    if not path:
        return
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # the roles may run in parallel workers
        handle.seek(0)
        text = handle.read()
        totals = json.loads(text) if text.strip() else {}
        totals[role] = {
            "operations": len(run.requests),
            "requests": total,
            "statuses": {str(code): n for code, n in sorted(run.statuses.items())},
        }
        handle.seek(0)
        handle.truncate()
        json.dump(totals, handle, indent=2, sort_keys=True)


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_documented(
    role: str, client: TestClient, make_user: MakeUser, capsys: pytest.CaptureFixture[str]
) -> None:
    with held_to_schema(client):
        world = seed_world(client, make_user)
    run = Run(Identity(role, client, make_user, world), world)
    for operation in operations():
        run.exercise(operation)

    with capsys.disabled():
        report(role, run)
    assert len(run.requests) == len(operations())
    if run.failures:
        pytest.fail(
            "\n\n".join(
                f"{label}: {title} ({status})\n{text}"
                for (label, title, status), text in sorted(run.failures.items())
            ),
            pytrace=False,
        )
