"""Routes that take file uploads: their bodies may reach the upload limit."""

from collections.abc import Callable
from typing import Any, TypeVar

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
UPLOAD_MARK = "takes_uploads"


def accepts_uploads(endpoint: Endpoint) -> Endpoint:
    """Mark a route as one that takes file uploads: its body may reach the upload limit."""
    setattr(endpoint, UPLOAD_MARK, True)
    return endpoint


def takes_uploads(endpoint: object) -> bool:
    """Whether ``endpoint`` was marked with ``accepts_uploads``."""
    return getattr(endpoint, UPLOAD_MARK, False) is True
