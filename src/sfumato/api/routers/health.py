"""`/healthz`: 200 once the app is built (database migrated, models ready). No auth."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep
from sfumato.api.responses import LeonardoJSON
from sfumato.store.db import ping

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(container: ContainerDep) -> LeonardoJSON:
    ping(container.db)
    # A worker here: threads of this process, or the supervised worker process while it runs.
    supervised = container.supervisor is not None and container.supervisor.alive
    return LeonardoJSON({"status": "ok", "worker": container.worker is not None or supervised})
