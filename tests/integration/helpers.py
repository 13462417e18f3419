"""The process helpers under their former name, for the end-to-end conftest."""

from tests.support.servers import HOST, Server, error_lines, run_dfims, running_server

__all__ = ["HOST", "Server", "error_lines", "run_dfims", "running_server"]
