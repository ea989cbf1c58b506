"""One HTTP/1.1 connection held open by hand (h11 over a socket), to see what a server does to
the connection itself: whether it keeps serving after an error, or closes it. httpx and
http.client silently reconnect, which would hide exactly that."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import h11


class ConnectionClosed(AssertionError):
    """The server closed (or reset) the connection instead of answering."""


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class KeepAliveConnection:
    def __init__(self, host: str, port: int, timeout_s: float = 30.0) -> None:
        self.host = host
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.conn = h11.Connection(our_role=h11.CLIENT)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> KeepAliveConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send_head(self, method: str, target: str, headers: dict[str, str], content_length: int | None) -> None:
        """The request line and headers only (a body, or part of one, may follow with `send_raw`)."""
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        fields = [("Host", self.host), *headers.items()]
        if content_length is not None:
            fields.append(("Content-Length", str(content_length)))
        self.sock.sendall(self.conn.send(h11.Request(method=method, target=target, headers=fields)) or b"")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> RawResponse:
        self.send_head(method, target, headers or {}, len(body) if body or method not in ("GET", "HEAD") else None)
        if body:
            self.sock.sendall(self.conn.send(h11.Data(data=body)) or b"")
        self.sock.sendall(self.conn.send(h11.EndOfMessage()) or b"")
        return self.read_response()

    def read_response(self) -> RawResponse:
        status, headers, body = 0, {}, b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = self.sock.recv(65536)
                except ConnectionResetError as error:
                    raise ConnectionClosed(f"connection reset: {error}") from error
                if not data and status == 0:
                    raise ConnectionClosed("the server closed the connection without answering")
                self.conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {name.decode().lower(): value.decode("latin-1") for name, value in event.headers}
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return RawResponse(status, headers, body)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionClosed("the server closed the connection mid-response")

    def server_closed(self) -> bool:
        """After a response: whether the server has closed its side (reads EOF)."""
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
