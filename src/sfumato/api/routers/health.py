"""`/healthz`: 200 once the app is built (database migrated, models ready). No auth."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from sfumato.api.deps import ContainerDep
from sfumato.api.responses import LeonardoJSON

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(container: ContainerDep) -> LeonardoJSON:
    with container.db.connect() as connection:
        connection.execute(text("SELECT 1"))
    return LeonardoJSON({"status": "ok", "worker": container.worker is not None})
