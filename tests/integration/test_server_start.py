"""``running_server`` starts ``dfims serve`` again on another port when the port it found free
was taken before the server could bind it."""

import socket

import pytest

from tests.support import servers
from tests.support.servers import HOST, running_server


def test_a_port_taken_before_the_bind_is_left_for_another(
    test_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offered = iter([busy])
        real = servers.free_port
        monkeypatch.setattr(servers, "free_port", lambda: next(offered, None) or real())
        with running_server(test_env) as server:
            assert server.port != busy
            assert server.get("/health").status == 200
