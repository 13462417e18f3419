"""Catalog records made through the API, as the catalog and product tests make them."""

from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

API = "/api/v1"


CATEGORIES = f"{API}/categories"


SUPPLIERS = f"{API}/suppliers"


WAREHOUSES = f"{API}/warehouses"


PRODUCTS = f"{API}/products"


RECEIPTS = f"{API}/stock/receipts"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64, 128))


def ok(response: Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def post(client: TestClient, path: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """Create a record through the API; the created record."""
    return ok(client.post(path, json=body, headers=headers), 201)


def create_category(client: TestClient, headers: dict[str, str], name: str = "Dates") -> int:
    return int(post(client, CATEGORIES, headers, name=name)["id"])


def create_product(
    client: TestClient, headers: dict[str, str], sku: str = "DATE-1", **fields: Any
) -> dict[str, Any]:
    return post(client, PRODUCTS, headers, **{"sku": sku, "name": f"Product {sku}", **fields})


def create_warehouse(client: TestClient, headers: dict[str, str], code: str = "WH-1") -> int:
    return int(post(client, WAREHOUSES, headers, code=code, name=f"Warehouse {code}")["id"])


def create_supplier(client: TestClient, headers: dict[str, str], code: str = "SUP-1") -> int:
    return int(post(client, SUPPLIERS, headers, code=code, name=f"Supplier {code}")["id"])


def receive(
    client: TestClient, headers: dict[str, str], product_id: int, warehouse_id: int, **extra: Any
) -> Response:
    """Post a goods receipt of 10 units into lot L1."""
    body = {
        "product_id": product_id,
        "warehouse_id": warehouse_id,
        "lot_code": "L1",
        "quantity": "10",
        **extra,
    }
    return client.post(RECEIPTS, json=body, headers=headers)


def upload(client: TestClient, headers: dict[str, str], product_id: int, **files: Any) -> Response:
    """PUT the product image; ``file=(filename, bytes, content type)``."""
    return client.put(f"{PRODUCTS}/{product_id}/image", files=files, headers=headers)


def ids_of(response: Response) -> list[int]:
    return [item["id"] for item in ok(response)["items"]]
