"""Files people upload: product images and lot documents, checked and kept under UPLOAD_DIR."""

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core import problem_types
from app.core.config import get_settings
from app.core.errors import DomainError, InvalidRequestError, NotFoundError

IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
DOCUMENT_TYPES = {**IMAGE_TYPES, "application/pdf": ".pdf"}
# Other extensions a name may keep for its type; any other name gets the type's own added.
EXTENSION_SYNONYMS = {"image/jpeg": (".jpeg",)}


class PayloadTooLargeError(DomainError):
    """An upload is larger than allowed."""

    problem = problem_types.PAYLOAD_TOO_LARGE


class UnsupportedMediaTypeError(DomainError):
    """An upload is not of a type we keep."""

    problem = problem_types.UNSUPPORTED_MEDIA_TYPE


@dataclass(frozen=True)
class StoredFile:
    """A file kept under UPLOAD_DIR."""

    stored_name: str
    content_type: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Download:
    """A kept file as it is sent: where it is, its type and the name it is saved under."""

    path: Path
    media_type: str
    filename: str


def sniff_type(data: bytes) -> str | None:
    """The media type the content really has, from its first bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def store(
    db: Session, data: bytes, *, folder: str, allowed: dict[str, str], max_bytes: int
) -> StoredFile:
    """Check size and real type, then keep ``data`` under a random name in ``folder``; the
    file goes again if the unit of work ``db`` rolls back."""
    if not data:
        raise InvalidRequestError("The file is empty.", field="file")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"The file is {len(data)} bytes; the limit is {max_bytes}.")
    content_type = sniff_type(data)
    if content_type not in allowed:
        kinds = ", ".join(sorted(allowed))
        raise UnsupportedMediaTypeError(f"Only {kinds} files are accepted.")
    stored_name = f"{folder}/{secrets.token_hex(16)}{allowed[content_type]}"
    path = _path(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    event.listen(db, "after_rollback", lambda _: path.unlink(missing_ok=True), once=True)
    return StoredFile(
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def download_name(filename: str, content_type: str) -> str:
    """``filename`` ending in an extension of ``content_type`` (a PDF named ``invoice.html``
    becomes ``invoice.html.pdf``), so a download opens as the type it was accepted as."""
    extension = DOCUMENT_TYPES[content_type]
    if filename.lower().endswith((extension, *EXTENSION_SYNONYMS.get(content_type, ()))):
        return filename
    return filename + extension


def open_stored(stored_name: str) -> Path:
    """The path of a kept file, or a 404 when it is gone."""
    path = _path(stored_name)
    if not path.is_file():
        raise NotFoundError("The file is no longer stored.")
    return path


def image_limit() -> int:
    """The largest product image accepted, in bytes."""
    return get_settings().MAX_IMAGE_BYTES


def document_limit() -> int:
    """The largest lot document accepted, in bytes."""
    return get_settings().MAX_DOCUMENT_BYTES


def _path(stored_name: str) -> Path:
    root = get_settings().UPLOAD_DIR.resolve()
    path = (root / stored_name).resolve()
    if root not in path.parents:
        raise NotFoundError("No such file.")
    return path
