"""A fake OpenAI-compatible chat-completions server on loopback (stdlib ThreadingHTTPServer).

It records every request (path, headers, JSON body) and answers as its `mode` says: a chat
completion whose content is `reply` (by default the user's text, marked), an HTTP error, a
body that is no chat completion, an empty answer, or a reply that comes too late.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "error", "busy", "garbage", "empty", "slow"]
MARK = "ENHANCED:"


def marked(user_text: str) -> str:
    """The default reply: the user's text behind a mark, so a test knows what came back."""
    return f"{MARK} {user_text}"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body["messages"])


@dataclass
class FakeLlm:
    mode: Mode = "ok"
    reply: str | None = None  # None: `marked(user text)`
    delay_s: float = 3.0  # how late a "slow" reply comes
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @contextmanager
    def running(self) -> Iterator[FakeLlm]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                fake._answer(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if self.mode in ("error", "busy"):
            self._send(handler, 500 if self.mode == "error" else 503, {"error": {"message": "model crashed"}})
            return
        if self.mode == "garbage":
            self._send(handler, 200, {"object": "not a completion"})
            return
        if self.mode == "slow":
            time.sleep(self.delay_s)
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        content = "   " if self.mode == "empty" else (self.reply if self.reply is not None else marked(user))
        completion = {"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
                      "choices": [{"index": 0, "finish_reason": "stop",
                                   "message": {"role": "assistant", "content": content}}]}  # fmt: skip
        self._send(handler, 200, completion)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass
