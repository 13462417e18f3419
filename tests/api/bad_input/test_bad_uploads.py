"""Uploads too large, empty or not what their name says, and path traversal in upload names
and in the paths that serve files: refused, with no file under UPLOAD_DIR."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import get_settings
from app.core.database import engine
from app.models.inventory import LotDocument
from app.models.user import Role
from tests.api.bad_input.scene import (
    HUGE_ID,
    MIB,
    PDF,
    PNG,
    UPLOAD_ROUTES,
    Scene,
    Unchanged,
    assert_refusal,
    ids,
    kept_files,
    upload,
    upload_path,
    upload_root,
)
from tests.conftest import MakeUser
from tests.support.pages import logged_in
from tests.support.problems import assert_problem
from tests.support.sales import (
    PRODUCTS,
)
from tests.support.stock import (
    LOTS,
)

# =========================================================================== uploads


@pytest.mark.parametrize(
    ("kind", "limit", "fill"),
    [
        pytest.param("product-image", "MAX_IMAGE_BYTES", PNG, id="image"),
        pytest.param("lot-document", "MAX_DOCUMENT_BYTES", PDF, id="document"),
    ],
)
def test_an_upload_one_byte_over_its_limit_is_a_413(
    scene: Scene, kind: str, limit: str, fill: bytes
) -> None:
    allowed = int(getattr(get_settings(), limit))
    data = fill + bytes(allowed + 1 - len(fill))
    upload_path(scene, kind)  # the records exist before anything is measured
    unchanged = Unchanged()

    response = upload(scene, kind, "big.bin", data, "application/octet-stream")

    assert str(allowed) in assert_problem(response, 413)["detail"]
    assert unchanged.written() == []


MISMATCHED_CONTENT: dict[str, tuple[str, bytes, str]] = {
    "text-named-png": ("photo.png", b"just some text, not an image", "image/png"),
    "html-named-jpg": ("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
    "svg-with-script": (
        "logo.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/svg+xml",
    ),
    "gif": ("anim.gif", b"GIF89a" + bytes(32), "image/gif"),
    "exe-named-pdf": ("cert.pdf", b"MZ\x90\x00" + bytes(60), "application/pdf"),
    "zip-named-pdf": ("cert.pdf", b"PK\x03\x04" + bytes(60), "application/pdf"),
    "php-named-png": ("shell.php.png", b"<?php system($_GET['c']); ?>", "image/png"),
    "png-signature-not-first": ("late.png", b" " + PNG, "image/png"),
}


@pytest.mark.parametrize("kind", list(UPLOAD_ROUTES))
def test_an_upload_that_is_not_an_accepted_type_is_a_415(
    scene: Scene, subtests: pytest.Subtests, kind: str
) -> None:
    cases = dict(MISMATCHED_CONTENT)
    if kind == "product-image":
        cases["pdf-named-png"] = ("photo.png", PDF, "image/png")
    upload_path(scene, kind)
    unchanged = Unchanged()
    for name, (filename, data, content_type) in cases.items():
        with subtests.test(name):
            response = upload(scene, kind, filename, data, content_type)
            written = unchanged.written()
            assert_problem(response, 415)
            assert written == []


@pytest.mark.parametrize("kind", list(UPLOAD_ROUTES))
def test_an_empty_upload_is_a_422(scene: Scene, kind: str) -> None:
    upload_path(scene, kind)
    unchanged = Unchanged()

    response = upload(scene, kind, "empty.pdf", b"", "application/pdf")

    assert assert_problem(response, 422)["field"] == "file"
    assert unchanged.written() == []


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"description": "x" * (2 * MIB)}, id="a-field-of-2-MiB"),
        pytest.param({f"field{n}": "x" for n in range(2000)}, id="2000-fields"),
    ],
)
def test_an_oversized_form_is_refused(scene: Scene, form: dict[str, str]) -> None:
    path = upload_path(scene, "lot-document")
    files = {"file": ("cert.pdf", PDF, "application/pdf")}
    unchanged = Unchanged()

    response = scene.client.post(path, files=files, data=form, headers=scene.headers)

    assert_refusal(response)
    assert unchanged.written() == []


# --------------------------------------------------------------------------- file names

BOUNDARY = "dfims-bad-input-boundary"


def multipart_file(disposition: bytes, data: bytes = PDF) -> tuple[bytes, str]:
    """A multipart body of one ``file`` part whose Content-Disposition parameters after
    ``name="file"`` are ``disposition``, byte for byte; and its content type."""
    body = (
        b"--" + BOUNDARY.encode() + b"\r\n"
        b'Content-Disposition: form-data; name="file"; ' + disposition + b"\r\n"
        b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n"
        b"--" + BOUNDARY.encode() + b"--\r\n"
    )
    return body, f"multipart/form-data; boundary={BOUNDARY}"


HOSTILE_FILENAMES: dict[str, bytes] = {
    "dot-dot-slash": b'filename="../../../../etc/passwd"',
    "dot-dot-backslash": b'filename="..\\..\\..\\evil.pdf"',
    "absolute": b'filename="/etc/passwd"',
    "windows-drive": b'filename="C:\\Windows\\win.ini"',
    "unc": b'filename="\\\\server\\share\\evil.pdf"',
    "dots-only": b'filename=".."',
    "nested-dots": b'filename="....//....//evil.pdf"',
    "percent-encoded": b'filename="%2e%2e%2f%2e%2e%2fevil.pdf"',
    "nul-byte": b'filename="evil.pdf\x00.png"',
    "control-chars": b'filename="ev\x01il\x1b[2J.pdf"',
    "rtl-override": 'filename="invoice\u202efdp.exe"'.encode(),
    "markup": b'filename="<script>alert(1)</script>.pdf"',
    "very-long": b'filename="' + b"a" * 5000 + b'.pdf"',
    "escaped-quote": b'filename="a\\";evil=.pdf"',
    "rfc5987-traversal": b"filename*=UTF-8''..%2F..%2F..%2Fetc%2Fpasswd",
    "empty": b'filename=""',
}
SAFE_NAME = re.compile(r"[^/\\\x00-\x1f\x7f]{1,255}")
STORED_NAME = re.compile(r"lots/[0-9a-f]{32}\.pdf")


def test_a_hostile_document_name_never_leaves_the_upload_dir(
    scene: Scene, subtests: pytest.Subtests, workdir: Path
) -> None:
    """Kept under a server-made name inside UPLOAD_DIR with a harmless display name, and
    served back intact; or refused, writing nothing."""
    path = upload_path(scene, "lot-document")
    unchanged = Unchanged()
    for name, disposition in HOSTILE_FILENAMES.items():
        with subtests.test(name):
            body, content_type = multipart_file(disposition)
            headers = {**scene.headers, "Content-Type": content_type}
            files_before = kept_files()
            response = scene.client.post(path, content=body, headers=headers)
            written = unchanged.written()
            if response.status_code != 201:
                assert_refusal(response)
                assert written == []
                continue
            document = response.json()
            with engine.connect() as connection:
                stored_name = connection.scalar(
                    select(LotDocument.stored_name).where(LotDocument.id == document["id"])
                )
            assert stored_name is not None
            assert STORED_NAME.fullmatch(stored_name), stored_name
            assert (upload_root() / stored_name).resolve().parent == upload_root() / "lots"
            assert kept_files() - files_before == {stored_name}
            shown = document["filename"]
            assert SAFE_NAME.fullmatch(shown), shown
            assert shown.isprintable()
            assert not shown.startswith(".")
            served = scene.client.get(f"{path}/{document['id']}", headers=scene.headers)
            assert served.status_code == 200, served.text
            assert served.content == PDF
            disposition_header = served.headers["content-disposition"]
            assert "\r" not in disposition_header
            assert "\n" not in disposition_header
    planted = {"passwd", "win.ini", "evil.pdf", "evil.pdf.png"}
    assert [p for p in workdir.rglob("*") if p.name in planted] == []


# --------------------------------------------------------------------------- paths to files

TRAVERSALS: dict[str, str] = {
    "encoded-slashes": "..%2F..%2F..%2Fetc%2Fpasswd",
    "encoded-dots": "%2e%2e",
    "double-encoded": "%252e%252e%252fetc%252fpasswd",
    "backslashes": "..%5C..%5Cwin.ini",
    "nul": "1%00",
    "negative": "-1",
    "zero": "0",
    "fraction": "1.5",
    "sql": "1%20OR%201=1",
    "huge": HUGE_ID,
}


FILE_PATHS: dict[str, Callable[[Scene, str], str]] = {
    "image-of-product": lambda s, bad: f"{PRODUCTS}/{bad}/image",
    "document-of-lot": lambda s, bad: f"{LOTS}/{bad}/documents/{s.document}",
    "document-id": lambda s, bad: f"{LOTS}/{s.lot}/documents/{bad}",
    "product-image-page": lambda s, bad: f"/products/{bad}/image",
}


@pytest.mark.parametrize("where", ids(FILE_PATHS))
def test_a_file_path_parameter_cannot_reach_other_files(
    scene: Scene, make_user: MakeUser, subtests: pytest.Subtests, where: Callable[[Scene, str], str]
) -> None:
    """The paths that serve files take ids only: anything else is a 404 or a 422 (an HTML
    page for the web's path), never a file and never a server error."""
    scene.image, scene.document  # noqa: B018 (files that could be reached)
    logged_in(scene.client, make_user, Role.STAFF)
    for name, bad in TRAVERSALS.items():
        with subtests.test(name):
            response = scene.client.get(where(scene, bad), headers=scene.headers)
            assert response.status_code in (404, 422), response.text[:300]
            assert b"root:" not in response.content
            assert b"%PDF" not in response.content
            assert not response.content.startswith(PNG[:8])
            if response.headers["content-type"].startswith("application/"):
                assert_problem(response, (404, 422))


STATIC_TRAVERSALS = [
    "/static/..%2F..%2Fcore%2Fconfig.py",
    "/static/%2e%2e/%2e%2e/core/config.py",
    "/static/..%5C..%5Ccore%5Cconfig.py",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
]


def test_static_files_cannot_reach_outside_their_folder(
    client: TestClient, subtests: pytest.Subtests
) -> None:
    for path in STATIC_TRAVERSALS:
        with subtests.test(path):
            response = client.get(path)
            assert response.status_code == 404, response.text[:300]
            for secret in (b"SECRET_KEY", b"root:", b"[tool."):
                assert secret not in response.content
