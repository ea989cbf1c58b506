"""A real webhook receiver on 127.0.0.1: the edge of the world for webhook tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny threaded HTTP server that records every POST and answers from a script."""

    script: list[int] = field(default_factory=list)  # statuses to answer first, in order
    default: int = 200
    requests: list[Received] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._cond:
                    receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.script.pop(0) if receiver.script else receiver.default
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/hook"

    def wait_for(self, count: int, timeout_s: float = 60) -> list[Received]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.requests) >= count, timeout_s)
            assert len(self.requests) >= count, f"got {len(self.requests)} of {count} webhook requests"
            return list(self.requests)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
