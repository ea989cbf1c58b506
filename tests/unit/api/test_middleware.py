"""The last catch for bugs, on a real uvicorn server: one traceback in the log, Leonardo's 500
body, and the keep-alive connection still serving (Starlette's own handler closes it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from sfumato.api.middleware import CatchServerErrors, HeadAsGet
from tests.support.polling import poll_until
from tests.support.raw_http import KeepAliveConnection
from tests.support.server import free_port


@pytest.fixture
def buggy_server() -> Iterator[int]:
    app = FastAPI()

    @app.get("/bug")
    def bug() -> dict[str, str]:
        raise RuntimeError("a bug")

    @app.get("/fine")
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(CatchServerErrors)
    app.add_middleware(HeadAsGet)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    poll_until(lambda: server.started, timeout_s=30, interval_s=0.05, message="uvicorn did not start")
    yield port
    server.should_exit = True
    thread.join(30)


def test_a_bug_is_one_traceback_a_500_and_the_connection_stays_open(
    buggy_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with KeepAliveConnection("127.0.0.1", buggy_server) as connection:
        answer = connection.request("GET", "/bug")
        assert answer.status == 500
        assert answer.body == b'{"error":"Service Error","path":"$","code":"unexpected"}'
        assert b"a bug" not in answer.body
        assert connection.request("GET", "/fine").status == 200  # same connection
        head = connection.request("HEAD", "/bug")
        assert (head.status, head.body) == (500, b"")
    with_trace = [record for record in caplog.records if record.exc_info]
    assert len(with_trace) == 2, [record.getMessage() for record in with_trace]  # one per failing request
    assert all(record.name == "sfumato.api.middleware" for record in with_trace)
