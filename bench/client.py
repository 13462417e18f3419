"""A small blocking client of the API for setting a benchmark up (not for load)."""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bench.stack import StackError

API = "/api/v1"


@dataclass(frozen=True)
class Client:
    """Calls the API at ``base_url``, as the holder of ``token`` when there is one."""

    base_url: str
    token: str | None = None

    def as_user(self, email: str, password: str) -> "Client":
        """The same API, as ``email`` logged in."""
        form = urllib.parse.urlencode({"username": email, "password": password}).encode()
        answer = self._send("POST", "/auth/login", form, "application/x-www-form-urlencoded")
        return Client(self.base_url, answer["access_token"])

    def get(self, path: str, **query: Any) -> Any:
        """GET ``path`` under /api/v1; the JSON answer."""
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return self._send("GET", path + suffix)

    def post(self, path: str, body: Any = None) -> Any:
        """POST JSON to ``path`` under /api/v1; the JSON answer."""
        return self._send("POST", path, json.dumps(body or {}).encode(), "application/json")

    def _send(self, method: str, path: str, data: bytes | None = None, kind: str = "") -> Any:
        request = urllib.request.Request(f"{self.base_url}{API}{path}", data, method=method)
        if kind:
            request.add_header("Content-Type", kind)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise StackError(f"{method} {path} answered {exc.code}: {detail}") from exc
        return json.loads(raw) if raw else None
