"""The floor `api_overhead.py` measures Sfumato against: a bare FastAPI route returning a small JSON,
served by uvicorn with the same configuration `sfumato serve` uses (access log at INFO included).

Run: `.venv/bin/python benchmarks/fastapi_floor.py PORT` (api_overhead.py starts it itself).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/floor")
def floor() -> dict[str, object]:
    """A plain `def` route, as Sfumato's are: FastAPI runs it on its thread pool."""
    return {"ok": True, "id": "00000000-0000-0000-0000-000000000000"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
