"""Exception handlers: what the API and the pages each install for a kind of error."""

from collections.abc import Callable
from typing import Any

from fastapi import Request

ErrorHandler = Callable[[Request, Exception], Any]
"""Turns an exception raised by a request into its response (or an awaitable of it)."""
