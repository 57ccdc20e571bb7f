"""SSRF protection: which URLs a webhook may have and which addresses it may reach.

A URL is checked when it is stored (scheme, host) and again at every attempt, when its host
is resolved: every address it resolves to must be public unicast, and the request then goes
to the checked address itself (Host header and TLS SNI keep the name), so a DNS answer that
changes between the check and the connection (rebinding) cannot reach the internal network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

# Beyond what ipaddress's is_global excludes: ranges that reach IPv4 hosts through IPv6
# (RFC 6052 NAT64, RFC 8215 local NAT64, 6to4, Teredo) and CGNAT (RFC 6598).
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "::ffff:0:0/96",
        "fc00::/7",
        "fe80::/10",
    )
)


class UnsafeTargetError(ValueError):
    """The URL or an address it resolves to may not be called."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes: the URL as given, and the checked address to connect to."""

    url: str
    host: str
    address: str


def refused_reason(address: IpAddress) -> str | None:
    """Why ``address`` is not public unicast (None when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    for network in _REFUSED_NETWORKS:
        if address in network:
            return f"in the reserved range {network}"
    if address.is_private or not address.is_global:
        return "a private or reserved address"
    return None


def check_url(url: str, *, allow_http: bool) -> tuple[str, int]:
    """The host and port of ``url``, once its form is allowed; else UnsafeTargetError."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise UnsafeTargetError("the URL cannot be parsed") from exc
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_http):
        allowed = "https or http" if allow_http else "https"
        raise UnsafeTargetError(f"the URL must use {allowed}")
    if not hostname:
        raise UnsafeTargetError("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeTargetError("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeTargetError("the URL's port is not a number from 1 to 65535") from exc
    return hostname, port


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTargetError(f"{host} does not resolve") from exc
    return [str(info[4][0]) for info in infos]


def resolve_target(
    url: str, *, allow_http: bool, allow_private: bool, resolver: Resolver = system_resolver
) -> Target:
    """The address an attempt for ``url`` connects to, checked now (at connection time)."""
    host, port = check_url(url, allow_http=allow_http or allow_private)
    addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
    if not addresses:
        raise UnsafeTargetError(f"{host} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = refused_reason(address)
            if reason:
                raise UnsafeTargetError(f"{host} resolves to {address}, {reason}")
    return Target(url=url, host=host, address=str(addresses[0]))


def literal_address_refusal(url: str) -> str | None:
    """For a URL whose host is an IP literal: why it is refused (None otherwise)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return refused_reason(address)
