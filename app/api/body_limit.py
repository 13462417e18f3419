"""The largest request body the service reads: a file upload, or much less for anything else."""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response

UPLOAD_MEDIA_TYPE = "multipart/form-data"


class BodyLimit:
    """Answer 413 to a body larger than ``limit`` bytes (``upload_limit`` for multipart
    uploads), before reading it when Content-Length says so, else as soon as it is seen."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = headers.get("content-type", "").lower().startswith(UPLOAD_MEDIA_TYPE)
        limit = self.upload_limit if upload else self.limit
        detail = f"The request body is larger than the {limit} bytes accepted here."
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            response = problem_response(413, "payload-too-large", "Payload too large", detail)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, limited_receive, send)
