"""How `hlb serve` is set up: the address to bind, the token, and when a token is required.

Binding to anything but the loopback interface exposes the database's contents to the
network, so it needs a token (``--token`` or ``HLB_SERVE_TOKEN``); ``check`` says why not
when it is missing. Plain values, no I/O.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_ADDR = "127.0.0.1:8080"
REFRESH_SECONDS = 30  # pages reload on this timer, and at once after an apply (server-sent events)


class AddressError(ValueError):
    """The --addr value is not HOST:PORT."""


@dataclass(frozen=True)
class ServeConfig:
    """What the app needs: the database URL (made read-only by the app), the token, the refresh timer."""

    url: str
    token: str | None = None
    refresh: int = REFRESH_SECONDS

    def __repr__(self) -> str:  # never the token, nor the URL's password, in a traceback or log
        return f"ServeConfig(token={'set' if self.token else 'none'}, refresh={self.refresh})"


def parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as (host, port)."""
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise AddressError(f"--addr {addr!r} is not HOST:PORT (for example {DEFAULT_ADDR})")
    return host.removeprefix("[").removesuffix("]"), int(port)


def is_local(host: str) -> bool:
    """True for the loopback interface only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(host: str, token: str | None) -> str | None:
    """Why the server must not start on ``host`` with ``token``; None when it may."""
    if token is not None and not token.strip():
        return "the token is empty: give a long random value (--token or HLB_SERVE_TOKEN)"
    if token is None and not is_local(host):
        return (
            f"binding to {host} makes the status pages reachable from the network: give a token "
            "with HLB_SERVE_TOKEN (or --token), or bind to 127.0.0.1"
        )
    return None
