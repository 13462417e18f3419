"""Security headers on every response, whether or not a proxy stands in front of the service."""

from functools import cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The API answers JSON and needs no content at all; the web pages load their own CSS and
# script from /static and draw charts as inline SVG; the docs pages (/docs, /redoc) are
# FastAPI's, which load Swagger UI / ReDoc from a CDN and start them with an inline script.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
API_PATHS = ("/api/", "/health", "/metrics", "/openapi.json")
DOCS_PATHS = ("/docs", "/redoc")
# Answers a browser or a proxy may keep: the pages' own files and the liveness probe. Every
# other answer (the API, the pages and every download behind a login) is never stored.
CACHEABLE_PATHS = ("/static/",)
CACHEABLE_EXACT = frozenset({"/health"})
HSTS = "max-age=63072000"

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def cacheable(path: str) -> bool:
    """Whether the answer to ``path`` may be kept by a browser or a proxy."""
    return path in CACHEABLE_EXACT or path.startswith(CACHEABLE_PATHS)


def content_security_policy(path: str) -> str:
    """The Content-Security-Policy of the response to ``path``."""
    if path.startswith(API_PATHS):
        return API_POLICY
    if path.startswith(DOCS_PATHS):
        return DOCS_POLICY
    return PAGE_POLICY


@cache
def _headers(policy: str, stored: bool, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    extra = COMMON_HEADERS | {"Content-Security-Policy": policy}
    if not stored:
        extra["Cache-Control"] = "no-store"
    if https:
        extra["Strict-Transport-Security"] = HSTS
    return tuple((name.lower().encode(), value.encode()) for name, value in extra.items())


class SecurityHeaders:
    """Add the security headers a response does not set itself; nothing but the static files
    and the liveness probe is kept by a browser or a proxy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"
        extra = _headers(content_security_policy(path), cacheable(path), https)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
