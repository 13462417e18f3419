"""Who sent a request: the client address and user agent."""

from typing import Annotated

from fastapi import Depends, Request

from app.services.auth import ClientInfo


def client_info(request: Request) -> ClientInfo:
    """The client address and user agent of ``request``."""
    host = request.client.host if request.client else None
    return ClientInfo(ip_address=host, user_agent=request.headers.get("user-agent"))


Client = Annotated[ClientInfo, Depends(client_info)]
