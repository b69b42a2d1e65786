"""A listening loopback socket for the servers the package runs in-process (the sandbox, the checks status page)."""

from __future__ import annotations

import socket

from automation.errors import TargetUnreachableError


def listen(host: str, port: int, *, who: str) -> socket.socket:
    """A socket bound and listening on host:port (0: a free port). Raises TargetUnreachableError naming `who`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise TargetUnreachableError(
            f"{who} cannot listen on {host}:{port} ({exc.strerror}). Choose another --port."
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
