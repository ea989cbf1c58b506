"""`check_public_webhook_url`: refuse targets inside our own network (SSRF).

Webhook URLs set by the operator through the CLI are trusted and skip this check (a
loopback receiver is a legitimate setup). Any future path where API callers choose the URL
must call it, at registration and again before sending, since DNS answers can change.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeWebhookUrl(ValueError):
    """The URL is malformed or points at a private, loopback, link-local or reserved address."""


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_public_webhook_url(url: str) -> None:
    """Raise UnsafeWebhookUrl unless `url` is http(s) and every address its host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookUrl(f"webhook URL must be http(s) with a host: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeWebhookUrl(f"bad port in webhook URL {url!r}") from error
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise UnsafeWebhookUrl(f"webhook host {parts.hostname!r} does not resolve: {error}") from error
    if not infos:
        raise UnsafeWebhookUrl(f"webhook host {parts.hostname!r} does not resolve")
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not _is_public(address):
            raise UnsafeWebhookUrl(f"webhook host {parts.hostname!r} resolves to non-public address {address}")
