"""Lots through the API: listing and filters, status changes with their audit trail,
attached documents, and which role may call each stock and lot operation."""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core.config import get_settings
from app.core.database import SessionLocal
from app.main import app
from app.models.audit import AuditLog
from app.models.inventory import LotDocument
from app.models.user import Role
from tests.conftest import MakeUser, bearer, login
from tests.support.callers import ANONYMOUS, CALLERS, HTTP_METHODS, UNKNOWN_ID, SignedIn
from tests.support.pages import browser, logged_in
from tests.support.problems import assert_problem
from tests.support.stock import (
    ADJUSTMENTS,
    API,
    COUNTS,
    LEVELS,
    LOTS,
    MOVEMENTS,
    RECEIPTS,
    STOCK,
    TRANSFERS,
    WASTE,
    Stocked,
    World,
    get_levels,
    make_stocked,
    receive,
    snapshot,
)

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def in_days(days: int) -> str:
    """The ISO date ``days`` from today."""
    return (date.today() + timedelta(days=days)).isoformat()


def list_lots(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every lot the API lists for ``params``."""
    response = client.get(LOTS, params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    return list(page["items"])


def codes(lots: list[dict[str, Any]]) -> list[str]:
    """The lot codes of ``lots``, in order."""
    return [lot["lot_code"] for lot in lots]


def set_status(
    client: TestClient, headers: dict[str, str], lot_id: int, status: str, reason: str = "QA"
) -> Response:
    """Ask for a status change."""
    body = {"status": status, "reason": reason}
    return client.post(f"{LOTS}/{lot_id}/status", json=body, headers=headers)


def status_audits(lot_id: int) -> list[AuditLog]:
    """The lot.status_changed entries of a lot, oldest first."""
    with SessionLocal() as db:
        query = select(AuditLog).where(
            AuditLog.action == "lot.status_changed",
            AuditLog.entity_type == "lot",
            AuditLog.entity_id == str(lot_id),
        )
        return list(db.scalars(query.order_by(AuditLog.id)).all())


def stored_files() -> set[Path]:
    """Every file kept under UPLOAD_DIR."""
    root = get_settings().UPLOAD_DIR
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def upload(
    client: TestClient,
    headers: dict[str, str],
    lot_id: int,
    data: bytes = PDF,
    filename: str = "coa.pdf",
    description: str = "Certificate of analysis",
    content_type: str = "application/pdf",
) -> Response:
    """Attach a document to a lot."""
    return client.post(
        f"{LOTS}/{lot_id}/documents",
        files={"file": (filename, data, content_type)},
        data={"description": description},
        headers=headers,
    )


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class Shelf:
    """Lots with spread-out best-before dates; ids by code."""

    ids: dict[str, int]


@pytest.fixture
def shelf(client: TestClient, admin: SignedIn, world: World) -> Shelf:
    """OLD-05 (past best-before), EARLY-01 (+5 days), PACK-04 (+20), MID-02 (+40), LATE-03."""
    h = admin.headers
    kg, pack, main = world.kg_product, world.pack_product, world.main
    made = [
        receive(client, h, kg, main, "EARLY-01", best_before=in_days(5)),
        receive(client, h, kg, main, "MID-02", best_before=in_days(40)),
        receive(client, h, kg, main, "LATE-03", best_before=in_days(300)),
        receive(client, h, pack, main, "PACK-04", best_before=in_days(20)),
        receive(
            client, h, kg, main, "OLD-05", received_date=in_days(-400), best_before=in_days(-10)
        ),
    ]
    names = ["EARLY-01", "MID-02", "LATE-03", "PACK-04", "OLD-05"]
    return Shelf(ids={name: row["lot_id"] for name, row in zip(names, made, strict=True)})


FEFO = ["OLD-05", "EARLY-01", "PACK-04", "MID-02", "LATE-03"]


def test_lots_are_listed_earliest_best_before_first(
    client: TestClient, admin: SignedIn, shelf: Shelf
) -> None:
    lots = list_lots(client, admin.headers)
    assert codes(lots) == FEFO
    dates = [lot["best_before"] for lot in lots]
    assert dates == sorted(dates)


def test_lots_filter_by_product_status_expiry_and_code(
    client: TestClient, admin: SignedIn, world: World, shelf: Shelf
) -> None:
    h = admin.headers
    assert set_status(client, h, shelf.ids["MID-02"], "quarantine").status_code == 200
    assert codes(list_lots(client, h, product_id=world.pack_product)) == ["PACK-04"]
    assert codes(list_lots(client, h, product_id=world.kg_product)) == [
        "OLD-05",
        "EARLY-01",
        "MID-02",
        "LATE-03",
    ]
    assert codes(list_lots(client, h, status="quarantine")) == ["MID-02"]
    assert codes(list_lots(client, h, status="available")) == [
        "OLD-05",
        "EARLY-01",
        "PACK-04",
        "LATE-03",
    ]
    assert list_lots(client, h, status="recalled") == []
    # Expiring within N days includes what has already passed its best-before date.
    assert codes(list_lots(client, h, expiring_within_days=0)) == ["OLD-05"]
    assert codes(list_lots(client, h, expiring_within_days=5)) == ["OLD-05", "EARLY-01"]
    assert codes(list_lots(client, h, expiring_within_days=30)) == [
        "OLD-05",
        "EARLY-01",
        "PACK-04",
    ]
    assert codes(list_lots(client, h, expiring_within_days=3650)) == FEFO
    assert codes(list_lots(client, h, expiring_within_days=30, product_id=world.kg_product)) == [
        "OLD-05",
        "EARLY-01",
    ]
    # The search matches lot codes, case-insensitively, taking wildcards literally.
    assert codes(list_lots(client, h, q="early")) == ["EARLY-01"]
    assert codes(list_lots(client, h, q="-0")) == FEFO
    assert list_lots(client, h, q="%") == []
    assert list_lots(client, h, q="_") == []
    assert list_lots(client, h, q="nothing-like-this") == []


def test_lots_come_in_pages_with_the_total(
    client: TestClient, admin: SignedIn, shelf: Shelf
) -> None:
    seen = []
    for offset in (0, 2, 4):
        response = client.get(LOTS, params={"limit": 2, "offset": offset}, headers=admin.headers)
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == 5
        seen.extend(codes(page["items"]))
    assert seen == FEFO


@pytest.mark.parametrize(
    "params",
    [
        {"status": "sold"},
        {"expiring_within_days": -1},
        {"expiring_within_days": 3651},
        {"q": "x" * 61},
        {"limit": 0},
        {"limit": 201},
        {"product_id": "dates"},
    ],
)
def test_bad_lot_queries_are_problems(
    client: TestClient, admin: SignedIn, params: dict[str, Any]
) -> None:
    response = client.get(LOTS, params=params, headers=admin.headers)
    assert_problem(response, 422, "validation-error", field=next(iter(params)))


def test_one_lot(client: TestClient, admin: SignedIn, world: World) -> None:
    movement = receive(
        client,
        admin.headers,
        world.kg_product,
        world.main,
        "ONE-1",
        supplier_id=world.supplier,
        best_before=in_days(60),
        moisture_pct="21",
    )
    response = client.get(f"{LOTS}/{movement['lot_id']}", headers=admin.headers)
    assert response.status_code == 200
    lot = response.json()
    assert lot["id"] == movement["lot_id"]
    assert lot["lot_code"] == "ONE-1"
    assert lot["product_id"] == world.kg_product
    assert lot["supplier_id"] == world.supplier
    assert lot["best_before"] == in_days(60)
    assert lot["status"] == "available"
    assert lot == list_lots(client, admin.headers)[0]

    missing = client.get(f"{LOTS}/{UNKNOWN_ID}", headers=admin.headers)
    problem = assert_problem(missing, 404, "not-found")
    assert str(UNKNOWN_ID) in problem["detail"]


# --------------------------------------------------------------------------- status


def test_status_changes_are_applied_and_audited(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    h = admin.headers
    lot_id = receive(client, h, world.kg_product, world.main, "LIFE-1")["lot_id"]
    steps = [
        ("quarantine", "Aflatoxin test pending", "available"),
        ("available", "Test passed", "quarantine"),
        ("recalled", "Supplier recall 2026-11", "available"),
    ]
    for new, reason, _ in steps:
        response = set_status(client, h, lot_id, new, reason)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == new
        assert client.get(f"{LOTS}/{lot_id}", headers=h).json()["status"] == new

    audits = status_audits(lot_id)
    assert [entry.details for entry in audits] == [
        {"old": old, "new": new, "reason": reason} for new, reason, old in steps
    ]
    for entry in audits:
        assert entry.actor_id == admin.user.id
        assert entry.actor_label == admin.user.email

    # A recalled lot stays recalled.
    for refused in ("available", "quarantine", "expired"):
        before = snapshot()
        problem = assert_problem(
            set_status(client, h, lot_id, refused), 409, "conflict", field="status"
        )
        assert "recalled" in problem["detail"]
        assert snapshot() == before
    assert client.get(f"{LOTS}/{lot_id}", headers=h).json()["status"] == "recalled"
    assert len(status_audits(lot_id)) == len(steps)


def test_an_expired_lot_can_only_be_recalled(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    h = admin.headers
    lot_id = receive(client, h, world.kg_product, world.main, "EXP-1")["lot_id"]
    assert set_status(client, h, lot_id, "expired", "Past date").status_code == 200
    for refused in ("available", "quarantine"):
        assert_problem(set_status(client, h, lot_id, refused), 409, "conflict", field="status")
    assert set_status(client, h, lot_id, "recalled", "Destroy").status_code == 200
    assert [entry.details["new"] for entry in status_audits(lot_id)] == ["expired", "recalled"]


def test_a_lot_past_its_best_before_cannot_be_released(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    h = admin.headers
    lot_id = receive(
        client,
        h,
        world.kg_product,
        world.main,
        "STALE-1",
        received_date=in_days(-30),
        best_before=in_days(-1),
    )["lot_id"]
    assert set_status(client, h, lot_id, "quarantine", "Check it").status_code == 200
    problem = assert_problem(
        set_status(client, h, lot_id, "available"), 409, "conflict", field="status"
    )
    assert "best-before" in problem["detail"]
    assert client.get(f"{LOTS}/{lot_id}", headers=h).json()["status"] == "quarantine"
    assert len(status_audits(lot_id)) == 1


def test_asking_for_the_current_status_changes_nothing(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    lot_id = receive(client, admin.headers, world.kg_product, world.main, "SAME-1")["lot_id"]
    response = set_status(client, admin.headers, lot_id, "available", "Still fine")
    assert response.status_code == 200
    assert response.json()["status"] == "available"
    assert status_audits(lot_id) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"status": "quarantine"}, "reason", id="no-reason"),
        pytest.param({"status": "quarantine", "reason": ""}, "reason", id="empty-reason"),
        pytest.param({"status": "quarantine", "reason": "   "}, "reason", id="blank-reason"),
        pytest.param({"status": "quarantine", "reason": "x" * 2001}, "reason", id="long-reason"),
        pytest.param({"status": "sold", "reason": "Sold out"}, "status", id="unknown-status"),
        pytest.param({"reason": "No status"}, "status", id="no-status"),
    ],
)
def test_a_status_change_needs_a_known_status_and_a_reason(
    client: TestClient, admin: SignedIn, world: World, body: dict[str, Any], field: str
) -> None:
    lot_id = receive(client, admin.headers, world.kg_product, world.main, "WHY-1")["lot_id"]
    before = snapshot()
    response = client.post(f"{LOTS}/{lot_id}/status", json=body, headers=admin.headers)
    assert_problem(response, 422, field=field)
    assert snapshot() == before
    assert client.get(f"{LOTS}/{lot_id}", headers=admin.headers).json()["status"] == "available"


def test_the_status_of_an_unknown_lot_is_404(client: TestClient, admin: SignedIn) -> None:
    response = set_status(client, admin.headers, UNKNOWN_ID, "quarantine")
    assert_problem(response, 404, "not-found")


def test_held_lots_stay_visible(client: TestClient, admin: SignedIn, world: World) -> None:
    h = admin.headers
    held = {
        "quarantine": receive(client, h, world.kg_product, world.main, "HELD-Q", "3")["lot_id"],
        "recalled": receive(client, h, world.kg_product, world.main, "HELD-R", "4")["lot_id"],
        "expired": receive(client, h, world.pack_product, world.main, "HELD-E", "5")["lot_id"],
    }
    for status, lot_id in held.items():
        assert set_status(client, h, lot_id, status, "Hold").status_code == 200

    assert {lot["id"]: lot["status"] for lot in list_lots(client, h)} == {
        lot_id: status for status, lot_id in held.items()
    }
    for status, lot_id in held.items():
        assert codes(list_lots(client, h, status=status)) == [f"HELD-{status[0].upper()}"]
        assert client.get(f"{LOTS}/{lot_id}", headers=h).json()["status"] == status
        (level,) = get_levels(client, h, lot_id=lot_id)
        assert level["lot_status"] == status
        assert client.get(f"{LOTS}/{lot_id}/documents", headers=h).json() == []


# --------------------------------------------------------------------------- documents


def content_disposition_filename(response: Response) -> str:
    """The filename a download names in Content-Disposition (plain or RFC 5987 form)."""
    header = response.headers["content-disposition"]
    assert header.startswith("attachment")
    extended = re.search(r"filename\*=utf-8''([^;]+)", header, re.IGNORECASE)
    if extended is not None:
        return unquote(extended.group(1))
    plain = re.search(r'filename="([^"]*)"', header)
    assert plain is not None, header
    return plain.group(1)


def test_attach_list_and_download_a_document(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    h = admin.headers
    lot_id = receive(client, h, world.kg_product, world.main, "DOC-1")["lot_id"]
    response = upload(client, h, lot_id, filename="../../etc/passwd.pdf")
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["lot_id"] == lot_id
    assert document["filename"] == "passwd.pdf"
    assert document["content_type"] == "application/pdf"
    assert document["size_bytes"] == len(PDF)
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["description"] == "Certificate of analysis"

    second = upload(client, h, lot_id, data=PNG, filename="label.png", description="Label")
    assert second.status_code == 201, second.text
    assert second.json()["content_type"] == "image/png"

    listed = client.get(f"{LOTS}/{lot_id}/documents", headers=h)
    assert listed.status_code == 200
    assert listed.json() == [document, second.json()]

    download = client.get(f"{LOTS}/{lot_id}/documents/{document['id']}", headers=h)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    name = content_disposition_filename(download)
    assert name == "passwd.pdf"
    assert "/" not in name
    assert "\\" not in name
    assert ".." not in name

    # The file is kept under UPLOAD_DIR, never where the client's path pointed.
    root = get_settings().UPLOAD_DIR.resolve()
    for path in stored_files():
        assert root in path.resolve().parents
    assert not (root.parent / "etc" / "passwd.pdf").exists()

    with SessionLocal() as db:
        query = select(AuditLog).where(AuditLog.action == "lot.document_attached")
        entries = db.scalars(query.order_by(AuditLog.id)).all()
    assert [entry.details["document_id"] for entry in entries] == [
        document["id"],
        second.json()["id"],
    ]
    assert {entry.entity_id for entry in entries} == {str(lot_id)}


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd.pdf",
        "..\\..\\windows\\system32\\coa.pdf",
        "/absolute/path/coa.pdf",
        'quote"and<angle>|pipe?.pdf',
        "..",
        "....//....//coa.pdf",
    ],
)
def test_document_filenames_lose_their_path(
    client: TestClient, admin: SignedIn, world: World, filename: str
) -> None:
    h = admin.headers
    lot_id = receive(client, h, world.kg_product, world.main, "DOC-2")["lot_id"]
    response = upload(client, h, lot_id, filename=filename)
    assert response.status_code == 201, response.text
    stored = response.json()["filename"]
    download = client.get(f"{LOTS}/{lot_id}/documents/{response.json()['id']}", headers=h)
    assert download.status_code == 200
    for name in (stored, content_disposition_filename(download)):
        assert name
        assert not {"/", "\\", '"', "<", ">", "|", "?"} & set(name), name
        assert ".." not in name
        assert not name.startswith(".")


@pytest.mark.parametrize(
    ("data", "filename", "named"),
    [
        pytest.param(PDF, "invoice.html", "invoice.html.pdf", id="pdf-named-html"),
        pytest.param(PDF, "invoice.svg", "invoice.svg.pdf", id="pdf-named-svg"),
        pytest.param(PDF, "invoice", "invoice.pdf", id="pdf-without-extension"),
        pytest.param(PDF, "..", "document.pdf", id="pdf-without-name"),
        pytest.param(PNG, "label.pdf", "label.pdf.png", id="png-named-pdf"),
        pytest.param(PDF, "COA.PDF", "COA.PDF", id="pdf-in-capitals"),
        pytest.param(JPEG, "scan.jpeg", "scan.jpeg", id="jpeg-long-extension"),
        pytest.param(JPEG, "scan.jpg", "scan.jpg", id="jpeg"),
        pytest.param(JPEG, "scan.png", "scan.png.jpg", id="jpeg-named-png"),
    ],
)
def test_a_document_is_named_as_the_type_it_was_accepted_as(
    client: TestClient,
    admin: SignedIn,
    world: World,
    make_user: MakeUser,
    data: bytes,
    filename: str,
    named: str,
) -> None:
    """The extension of a document's name is the one of its real type, in the API's answer
    and in both downloads (API and pages), so a browser never opens a PDF as HTML."""
    h = admin.headers
    lot_id = receive(client, h, world.kg_product, world.main, "DOC-NAME")["lot_id"]
    response = upload(client, h, lot_id, data=data, filename=filename)
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["filename"] == named

    path = f"/lots/{lot_id}/documents/{document['id']}"
    api = client.get(API + path, headers=h)
    logged_in(page_client := browser(), make_user, Role.STAFF)
    page = page_client.get(path)
    for download in (api, page):
        assert download.status_code == 200, download.text
        assert download.content == data
        assert download.headers["content-type"].startswith(document["content_type"])
        assert content_disposition_filename(download) == named


def test_a_document_stored_under_a_misleading_name_downloads_under_its_type(
    client: TestClient, admin: SignedIn, world: World, make_user: MakeUser
) -> None:
    """A document kept before names were checked still downloads with its real extension."""
    h = admin.headers
    lot_id = receive(client, h, world.kg_product, world.main, "DOC-OLD")["lot_id"]
    document_id = upload(client, h, lot_id, filename="invoice.pdf").json()["id"]
    with SessionLocal() as db:
        stored = db.get(LotDocument, document_id)
        assert stored is not None
        stored.filename = "invoice.html"
        db.commit()

    path = f"/lots/{lot_id}/documents/{document_id}"
    logged_in(page_client := browser(), make_user, Role.STAFF)
    for download in (client.get(API + path, headers=h), page_client.get(path)):
        assert download.status_code == 200, download.text
        assert content_disposition_filename(download) == "invoice.html.pdf"


def test_text_is_not_a_document(client: TestClient, admin: SignedIn, world: World) -> None:
    lot_id = receive(client, admin.headers, world.kg_product, world.main, "DOC-3")["lot_id"]
    before, files = snapshot(), stored_files()
    response = upload(
        client, admin.headers, lot_id, data=b"just some text, honest", filename="coa.pdf"
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert snapshot() == before
    assert stored_files() == files


def test_documents_over_the_size_limit_are_refused(
    client: TestClient, admin: SignedIn, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "MAX_DOCUMENT_BYTES", 2048)
    lot_id = receive(client, admin.headers, world.kg_product, world.main, "DOC-4")["lot_id"]
    before, files = snapshot(), stored_files()
    too_big = PDF + b"0" * (2049 - len(PDF))
    response = upload(client, admin.headers, lot_id, data=too_big)
    problem = assert_problem(response, 413, "payload-too-large")
    assert "2048" in problem["detail"]
    assert snapshot() == before
    assert stored_files() == files

    just_right = too_big[:2048]
    accepted = upload(client, admin.headers, lot_id, data=just_right)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["size_bytes"] == 2048


def test_an_empty_file_is_refused(client: TestClient, admin: SignedIn, world: World) -> None:
    lot_id = receive(client, admin.headers, world.kg_product, world.main, "DOC-5")["lot_id"]
    before = snapshot()
    assert_problem(upload(client, admin.headers, lot_id, data=b""), 422, field="file")
    assert snapshot() == before


def test_a_long_description_is_refused(client: TestClient, admin: SignedIn, world: World) -> None:
    lot_id = receive(client, admin.headers, world.kg_product, world.main, "DOC-6")["lot_id"]
    before = snapshot()
    response = upload(client, admin.headers, lot_id, description="x" * 301)
    assert_problem(response, 422, "validation-error", field="description")
    assert snapshot() == before


def test_documents_belong_to_their_lot(client: TestClient, admin: SignedIn, world: World) -> None:
    h = admin.headers
    mine = receive(client, h, world.kg_product, world.main, "DOC-7")["lot_id"]
    other = receive(client, h, world.kg_product, world.main, "DOC-8")["lot_id"]
    response = upload(client, h, other)
    assert response.status_code == 201
    document_id = response.json()["id"]

    assert_problem(client.get(f"{LOTS}/{mine}/documents/{document_id}", headers=h), 404)
    assert client.get(f"{LOTS}/{mine}/documents", headers=h).json() == []
    assert client.get(f"{LOTS}/{other}/documents/{document_id}", headers=h).status_code == 200
    assert_problem(client.get(f"{LOTS}/{other}/documents/{UNKNOWN_ID}", headers=h), 404)
    assert_problem(client.get(f"{LOTS}/{UNKNOWN_ID}/documents", headers=h), 404)
    before = snapshot()
    assert_problem(upload(client, h, UNKNOWN_ID), 404, "not-found")
    assert snapshot() == before


# --------------------------------------------------------------------------- roles


STAFF_AND_UP = frozenset({Role.ADMIN.value, Role.MANAGER.value, Role.STAFF.value})
MANAGERS = frozenset({Role.ADMIN.value, Role.MANAGER.value})


@dataclass(frozen=True)
class Scene:
    """Stock to act on, and a document on the kg lot."""

    stocked: Stocked
    document_id: int


Send = Callable[[TestClient, dict[str, str], Scene], Response]


@dataclass(frozen=True)
class Operation:
    """One route, who may call it, the status it answers on success, and a valid call."""

    method: str
    path: str
    allowed: frozenset[str]
    success: int
    send: Send


def _post(path: Callable[[Scene], str], body: Callable[[Scene], dict[str, Any]]) -> Send:
    def send(client: TestClient, headers: dict[str, str], scene: Scene) -> Response:
        return client.post(path(scene), json=body(scene), headers=headers)

    return send


def _get(path: Callable[[Scene], str]) -> Send:
    def send(client: TestClient, headers: dict[str, str], scene: Scene) -> Response:
        return client.get(path(scene), headers=headers)

    return send


def _upload(client: TestClient, headers: dict[str, str], scene: Scene) -> Response:
    return upload(client, headers, scene.stocked.kg_lot)


def _lot(scene: Scene) -> str:
    return f"{LOTS}/{scene.stocked.kg_lot}"


OPERATIONS = [
    Operation("GET", f"{STOCK}/levels", STAFF_AND_UP, 200, _get(lambda s: LEVELS)),
    Operation("GET", f"{STOCK}/movements", STAFF_AND_UP, 200, _get(lambda s: MOVEMENTS)),
    Operation(
        "POST",
        f"{STOCK}/receipts",
        STAFF_AND_UP,
        201,
        _post(
            lambda s: RECEIPTS,
            lambda s: {
                "product_id": s.stocked.world.kg_product,
                "warehouse_id": s.stocked.world.main,
                "lot_code": "ROLE-LOT",
                "quantity": "5",
            },
        ),
    ),
    Operation(
        "POST",
        f"{STOCK}/adjustments",
        MANAGERS,
        201,
        _post(
            lambda s: ADJUSTMENTS,
            lambda s: {
                "product_id": s.stocked.world.kg_product,
                "lot_id": s.stocked.kg_lot,
                "warehouse_id": s.stocked.world.main,
                "quantity": "-1",
                "reason": "Weighed short",
            },
        ),
    ),
    Operation(
        "POST",
        f"{STOCK}/transfers",
        STAFF_AND_UP,
        201,
        _post(
            lambda s: TRANSFERS,
            lambda s: {
                "product_id": s.stocked.world.kg_product,
                "lot_id": s.stocked.kg_lot,
                "from_warehouse_id": s.stocked.world.main,
                "to_warehouse_id": s.stocked.world.spare,
                "quantity": "5",
            },
        ),
    ),
    Operation(
        "POST",
        f"{STOCK}/waste",
        STAFF_AND_UP,
        201,
        _post(
            lambda s: WASTE,
            lambda s: {
                "product_id": s.stocked.world.kg_product,
                "lot_id": s.stocked.kg_lot,
                "warehouse_id": s.stocked.world.main,
                "quantity": "1",
                "reason": "Spoiled",
            },
        ),
    ),
    Operation(
        "POST",
        f"{STOCK}/counts",
        STAFF_AND_UP,
        201,
        _post(
            lambda s: COUNTS,
            lambda s: {
                "warehouse_id": s.stocked.world.main,
                "lines": [{"lot_id": s.stocked.kg_lot, "counted_quantity": "99"}],
            },
        ),
    ),
    Operation("GET", LOTS, STAFF_AND_UP, 200, _get(lambda s: LOTS)),
    Operation("GET", f"{LOTS}/{{lot_id}}", STAFF_AND_UP, 200, _get(_lot)),
    Operation(
        "POST",
        f"{LOTS}/{{lot_id}}/status",
        MANAGERS,
        200,
        _post(lambda s: f"{_lot(s)}/status", lambda s: {"status": "quarantine", "reason": "QA"}),
    ),
    Operation(
        "GET",
        f"{LOTS}/{{lot_id}}/documents",
        STAFF_AND_UP,
        200,
        _get(lambda s: f"{_lot(s)}/documents"),
    ),
    Operation("POST", f"{LOTS}/{{lot_id}}/documents", STAFF_AND_UP, 201, _upload),
    Operation(
        "GET",
        f"{LOTS}/{{lot_id}}/documents/{{document_id}}",
        STAFF_AND_UP,
        200,
        _get(lambda s: f"{_lot(s)}/documents/{s.document_id}"),
    ),
]


@pytest.fixture
def scene(client: TestClient, admin: SignedIn) -> Scene:
    """Stock and a document to act on, set up by an administrator."""
    stocked = make_stocked(client, admin.headers)
    response = upload(client, admin.headers, stocked.kg_lot)
    assert response.status_code == 201, response.text
    return Scene(stocked=stocked, document_id=response.json()["id"])


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_who_may_call_each_stock_and_lot_operation(
    client: TestClient, make_user: MakeUser, scene: Scene, operation: Operation, caller: str
) -> None:
    headers: dict[str, str] = {}
    if caller != ANONYMOUS:
        user = make_user(role=Role(caller))
        headers = bearer(login(client, user.email)["access_token"])
    before = snapshot()
    response = operation.send(client, headers, scene)

    if caller in operation.allowed:
        assert response.status_code == operation.success, response.text
        return
    if caller == ANONYMOUS:
        assert_problem(response, 401, "authentication-failed")
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert_problem(response, 403, "permission-denied")
    assert snapshot() == before


def _operations_under(*prefixes: str) -> set[tuple[str, str]]:
    found = set()
    for path, operations in app.openapi()["paths"].items():
        if any(path == prefix or path.startswith(f"{prefix}/") for prefix in prefixes):
            found |= {(method.upper(), path) for method in operations if method in HTTP_METHODS}
    return found


def test_the_role_table_covers_every_stock_and_lot_operation() -> None:
    documented = _operations_under(STOCK, LOTS)
    assert documented  # the routes are there to compare
    assert {(op.method, op.path) for op in OPERATIONS} == documented
    assert all(op.path.startswith(API) for op in OPERATIONS)
