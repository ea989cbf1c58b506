"""A fake Hugging Face hub on 127.0.0.1 (the edge of the world): just the endpoints
huggingface_hub's downloads call (repo info, tree listing, resolve), serving local folders as
repos at one commit, logging every request, and misbehaving on request (missing files, a dropped
connection, a slow transfer, latency). Tests never reach the real hub."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# What a process talking to the fake hub needs: plain HTTP (no Xet storage), no telemetry, online.
HUB_ENV = {"HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0"}

# A loopback port bound but never listening: connecting is refused at once. Held for the whole
# test session so nothing else can take it; servers point their hub here unless a test says otherwise.
_CLOSED = socket.socket()
_CLOSED.bind(("127.0.0.1", 0))
CLOSED_HUB_URL = f"http://127.0.0.1:{_CLOSED.getsockname()[1]}"


@dataclass
class FakeHub:
    """Serves each `repos` folder as that repo at COMMIT. Files named in `missing` answer 404; the
    first GET of `drop_once` sends half its body and closes the connection; `slow` is sent at
    `slow_bytes_per_s` after its first `slow_after` bytes; every file GET waits `delay_s` first."""

    repos: dict[str, Path]
    missing: set[str] = field(default_factory=set)
    drop_once: str | None = None
    slow: str | None = None
    slow_after: int = 0
    slow_bytes_per_s: int = 256 * 1024
    delay_s: float = 0.0
    log: list[tuple[str, str, str | None]] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None

    def files(self, repo: str) -> dict[str, bytes]:
        folder = self.repos[repo]
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    def gets(self, name: str) -> list[str | None]:
        """The Range header (None: whole file) of each GET of a file whose path ends with `name`."""
        return [r for method, path, r in self.log if method == "GET" and "/resolve/" in path and path.endswith(name)]

    def start(self) -> str:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _json(self, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _missing(self, code: str = "EntryNotFound") -> None:
                self.send_response(404)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _serve(self, head: bool) -> None:
                path = self.path.split("?")[0]
                hub.log.append((self.command, path, self.headers.get("Range")))
                if path.startswith("/api/models/"):
                    return self._api(path.removeprefix("/api/models/").split("/"))
                parts = path.lstrip("/").split("/")  # owner/name/resolve/<revision>/<file path>
                repo, filename = "/".join(parts[:2]), "/".join(parts[4:])
                if repo not in hub.repos:
                    return self._missing("RepoNotFound")
                if len(parts) < 5 or parts[2] != "resolve":
                    return self._missing()
                files = hub.files(repo)
                if filename not in files or filename in hub.missing:
                    return self._missing()
                return self._file(files[filename], filename, head)

            def _api(self, parts: list[str]) -> None:
                repo = "/".join(parts[:2])
                if repo not in hub.repos:
                    return self._missing("RepoNotFound")
                files = hub.files(repo)
                if len(parts) > 2 and parts[2] == "tree":
                    return self._json(
                        [
                            {"type": "file", "path": f, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                            for f, d in files.items()
                        ]
                    )
                return self._json({"id": repo, "sha": COMMIT, "siblings": [{"rfilename": f} for f in files]})

            def _file(self, data: bytes, name: str, head: bool) -> None:
                start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0]) if self.headers["Range"] else 0
                self.send_response(206 if start else 200)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if head:
                    return
                time.sleep(hub.delay_s)
                try:
                    if name == hub.drop_once:
                        hub.drop_once = None
                        self.wfile.write(data[start : len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                    elif name == hub.slow:
                        self._trickle(data, start)
                    else:
                        self.wfile.write(data[start:])
                except (BrokenPipeError, ConnectionResetError):  # the client went away (or was killed)
                    self.close_connection = True

            def _trickle(self, data: bytes, start: int) -> None:
                fast_end = max(start, hub.slow_after)
                self.wfile.write(data[start:fast_end])
                chunk = 64 * 1024
                for offset in range(fast_end, len(data), chunk):
                    self.wfile.write(data[offset : offset + chunk])
                    self.wfile.flush()
                    time.sleep(chunk / hub.slow_bytes_per_s)

            def do_GET(self) -> None:
                self._serve(head=False)

            def do_HEAD(self) -> None:
                self._serve(head=True)

        return Handler
