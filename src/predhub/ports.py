"""Ports the servers are about to bind: checked first, so a taken one is one clear line.

A server that finds its port taken only when it binds has often printed that
it is up already, and then dies with a traceback; checking before anything
starts lets the command name the setting that moves the port and exit 2.
"""

from __future__ import annotations

import socket

from predhub.errors import UsageProblem


def port_in_use(host: str, port: int) -> str | None:
    """Why binding host:port would fail (as the servers bind, with SO_REUSEADDR), or None."""
    if port == 0:
        return None
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def ensure_port_free(host: str, port: int, variable: str) -> None:
    """One line naming the port and the setting that moves it, before anything starts."""
    problem = port_in_use(host, port)
    if problem is not None:
        raise UsageProblem(
            f"port {port} on {host} is not available ({problem}); set {variable} to a free port"
        )
