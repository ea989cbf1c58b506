"""Webhook URL rules: what can be delivered at all, and what points inside our own network (SSRF).

`check_webhook_url_form` refuses what can never be delivered (not an http(s) URL with a host);
`check_public_webhook_url` also refuses hosts that resolve to private, loopback, link-local or
reserved addresses. `sfumato keys create` applies both; its `--allow-private-webhook` skips only
the address check, so an operator can still point a key at a receiver on loopback or the LAN.
Any future path where API callers choose the URL must call `check_public_webhook_url`, at
registration and again before sending, since DNS answers can change.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit


class UnsafeWebhookUrl(ValueError):
    """The URL is malformed or points at a private, loopback, link-local or reserved address."""


class MalformedWebhookUrl(UnsafeWebhookUrl):
    """Not an http(s) URL with a valid host and port: no receiver could ever get it."""


class NonPublicWebhookUrl(UnsafeWebhookUrl):
    """A well-formed URL whose host is (or resolves to) a non-public address, or does not resolve."""


# A host name of letters (any script, for IDNs), digits, '-', '_' and '.'; IP literals are checked apart.
_HOST_NAME = re.compile(r"[\w-]+(\.[\w-]+)*\.?")


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


def _split(url: str) -> tuple[str, int]:
    """The host and port of a deliverable URL, or MalformedWebhookUrl saying why not."""
    if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise MalformedWebhookUrl("it is empty or contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise MalformedWebhookUrl(f"it is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MalformedWebhookUrl("it must start with http:// or https:// and name a host")
    if port == 0:
        raise MalformedWebhookUrl("port 0 cannot be reached")
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_NAME.fullmatch(host):
            raise MalformedWebhookUrl(f"its host {host!r} is not a valid host name") from None
    return host, port or (443 if parts.scheme == "https" else 80)


def check_webhook_url_form(url: str) -> None:
    """Raise MalformedWebhookUrl unless `url` is http(s) with a valid host and port (no DNS)."""
    _split(url)


def check_public_webhook_url(url: str) -> None:
    """Raise UnsafeWebhookUrl unless `url` is http(s) and every address its host resolves to is public:
    MalformedWebhookUrl for a bad URL, NonPublicWebhookUrl for a non-public or unresolvable host."""
    host, port = _split(url)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise NonPublicWebhookUrl(f"its host {host!r} does not resolve ({error})") from error
    if not infos:
        raise NonPublicWebhookUrl(f"its host {host!r} does not resolve")
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not _is_public(address):
            how = "is" if len(infos) == 1 and str(address) == host else "resolves to"
            raise NonPublicWebhookUrl(f"its host {host!r} {how} the non-public address {address}")
