"""SSRF: every forbidden range is refused at connection time, a name included."""

from __future__ import annotations

import pytest

from service.delivery.targets import UnsafeTargetError, resolve_target, system_resolver

FORBIDDEN = [
    "127.0.0.1",  # loopback
    "::1",
    "10.1.2.3",  # private
    "172.16.5.4",
    "192.168.0.10",
    "169.254.169.254",  # link-local (cloud metadata)
    "fe80::1",
    "100.64.0.1",  # CGNAT
    "fd12:3456::1",  # unique-local
    "::ffff:93.184.216.34",  # IPv4-mapped, even of a public address
    "64:ff9b::a00:1",  # NAT64
    "0.0.0.0",
    "224.0.0.1",  # multicast
]


def resolver_to(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("address", FORBIDDEN)
def test_each_forbidden_range_is_refused(address: str) -> None:
    with pytest.raises(UnsafeTargetError, match="resolves to"):
        resolve_target(
            "https://hooks.example.org/x",
            allow_http=False,
            allow_private=False,
            resolver=resolver_to(address),
        )


def test_one_forbidden_address_among_public_ones_is_refused() -> None:
    with pytest.raises(UnsafeTargetError):
        resolve_target(
            "https://hooks.example.org/x",
            allow_http=False,
            allow_private=False,
            resolver=resolver_to("93.184.216.34", "127.0.0.1"),
        )


def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    assert "127.0.0.1" in system_resolver("localhost", 443)
    with pytest.raises(UnsafeTargetError, match="loopback"):
        resolve_target("https://localhost/x", allow_http=False, allow_private=False)


def test_public_addresses_pass_and_are_pinned() -> None:
    target = resolve_target(
        "https://hooks.example.org:8443/x",
        allow_http=False,
        allow_private=False,
        resolver=resolver_to("93.184.216.34"),
    )
    assert (target.host, target.address) == ("hooks.example.org", "93.184.216.34")


def test_http_needs_a_setting() -> None:
    public = resolver_to("93.184.216.34")
    with pytest.raises(UnsafeTargetError, match="https"):
        resolve_target(
            "http://hooks.example.org/", allow_http=False, allow_private=False, resolver=public
        )
    assert resolve_target(
        "http://hooks.example.org/", allow_http=True, allow_private=False, resolver=public
    )
    private = resolve_target("http://localhost/", allow_http=False, allow_private=True)
    assert private.address in ("127.0.0.1", "::1")
