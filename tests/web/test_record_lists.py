"""The customers, suppliers, warehouses, categories and lots lists: pages with the total,
sortable columns both ways and a search, through the same pager as the other lists."""

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.models.user import Role
from app.services import catalog
from tests.conftest import MakeUser
from tests.support import factories
from tests.support.pages import Node, logged_in, page_of

PAGE = 50
DASH = "\N{EN DASH}"


def make_categories(count: int) -> list[int]:
    """``count`` categories named C-000, C-001...; their ids."""
    with session_scope() as db:
        return [
            catalog.categories.create(db, factories.FACTORY_ACTOR, {"name": f"C-{n:03d}"}).id
            for n in range(count)
        ]


def make_lots(count: int) -> list[int]:
    """``count`` lots coded LOT-000, LOT-001... of one product; their ids."""
    product = factories.create_product()
    warehouse = factories.create_warehouse()
    return [
        factories.create_lot(product_id=product, warehouse_id=warehouse, lot_code=f"LOT-{n:03d}")
        for n in range(count)
    ]


# Per list: how to make ``count`` rows named in the order of the sort key, that key, and the
# name of the eighth row.
Maker = Callable[[int], list[int]]
LISTS: dict[str, tuple[Maker, str, str]] = {
    "/customers": (
        lambda count: [factories.create_customer(name=f"Buyer {n:03d}") for n in range(count)],
        "name",
        "Buyer 007",
    ),
    "/suppliers": (
        lambda count: [factories.create_supplier(code=f"SUP-{n:03d}") for n in range(count)],
        "code",
        "SUP-007",
    ),
    "/warehouses": (
        lambda count: [factories.create_warehouse(code=f"WH-{n:03d}") for n in range(count)],
        "code",
        "WH-007",
    ),
    "/categories": (make_categories, "name", "C-007"),
    "/lots": (make_lots, "lot_code", "LOT-007"),
}


def row_ids(page: Node, path: str) -> list[int]:
    """The ids of the records the rows link to, in row order."""
    link = re.compile(rf"^{path}/(\d+)$")
    ids = []
    for row in page.find("table", class_="list").find("tbody").find_all("tr"):
        found = [link.match(a.attrs["href"]) for a in row.find_all("a")]
        ids += [int(match.group(1)) for match in found if match][:1]
    return ids


def get(client: TestClient, path: str, **params: str) -> Node:
    return page_of(client.get(path, params=params or None, follow_redirects=False))


@pytest.fixture
def manager(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.MANAGER)


@pytest.mark.parametrize("path", LISTS)
def test_the_list_comes_in_pages_sorted_both_ways_and_searched(
    client: TestClient, manager: None, path: str
) -> None:
    make, key, eighth = LISTS[path]
    made = make(PAGE + 5)

    first = get(client, path, sort=key, dir="desc")
    second = get(client, first.find("a", rel="next").attrs["href"])
    ascending = get(client, path, sort=key, dir="asc")
    found = get(client, path, q=eighth.lower(), sort=key, dir="desc")

    newest_name_first = list(reversed(made))
    assert row_ids(first, path) == newest_name_first[:PAGE]
    assert row_ids(second, path) == newest_name_first[PAGE:]
    assert f"Showing 1{DASH}{PAGE} of {PAGE + 5}" in first.find("nav", class_="pager").text
    pager = second.find("nav", class_="pager").text
    assert f"Showing {PAGE + 1}{DASH}{PAGE + 5} of {PAGE + 5}" in pager
    assert row_ids(ascending, path) == made[:PAGE]
    assert first.find("th", aria_sort="descending").find("a").attrs["data-sort"] == key
    assert row_ids(found, path) == [made[7]]
    kept = parse_qs(urlsplit(second.find("a", rel="prev").attrs["href"]).query)
    assert kept["sort"] == [key]
    assert kept["dir"] == ["desc"]


@pytest.mark.parametrize("path", LISTS)
def test_bad_query_values_read_as_not_given(client: TestClient, manager: None, path: str) -> None:
    LISTS[path][0](2)
    plain = get(client, path).find("tbody").text

    for params in ({"page": "0"}, {"page": "99999999999"}, {"sort": "id; --"}, {"dir": "up"}):
        response = client.get(path, params=params, follow_redirects=False)

        assert response.status_code == 200, (params, response.status_code)
        assert page_of(response).find("tbody").text == plain, params
    assert client.get(path, params={"q": "x" * 500}).status_code == 200
