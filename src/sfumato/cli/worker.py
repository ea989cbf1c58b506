"""`sfumato worker`: the job worker alone, beside API-only servers (`sfumato serve --no-worker`).

It is the server's embedded worker (`LocalWorker` claiming from the database, `run_job` rendering)
in a process of its own, read from the same settings; it also delivers the webhook outbox, as every
server does (claims are compare-and-set, so any number of processes share it), so "at least once"
holds with no API process up. SIGTERM or Ctrl-C stops it between steps: a job interrupted so goes
back to QUEUED without spending an attempt, for the next worker.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from sfumato.cli.common import DataDir, load_settings, refuse, refusing_engine_settings
from sfumato.cli.db import require_current_schema

logger = logging.getLogger("sfumato.worker")


def _model_ids(models: str | None) -> frozenset[str] | None:
    if models is None:
        return None
    ids = frozenset(part.strip() for part in models.split(",") if part.strip())
    if not ids:
        refuse("invalid --models", "name at least one catalog model id (`sfumato models list`), comma-separated")
    return ids


def worker(
    data_dir: DataDir = None,
    models: Annotated[
        str | None, typer.Option(help="Claim only these models' jobs: catalog model ids, comma-separated.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at once, one thread each (env SFUMATO_WORKER_THREADS).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda | cuda:N | mps (env SFUMATO_DEVICE).")] = None,
) -> None:
    """Run the job worker alone: claim queued generations from the database and render them."""
    settings = load_settings(data_dir, worker_threads=concurrency, device=device)
    if settings.jobs.worker_threads < 1:
        refuse("nothing to run", "a worker needs --concurrency (SFUMATO_WORKER_THREADS) of at least 1")
    wanted = _model_ids(models)
    if wanted is not None:
        from sfumato.catalog import load_catalog

        catalog = load_catalog(settings)
        unknown = sorted(model_id for model_id in wanted if catalog.get(model_id) is None)
        if unknown:
            refuse(f"unknown --models {', '.join(unknown)}", "not in the catalog; `sfumato models list` shows the ids")
    require_current_schema(settings)

    from sfumato.container import build_container

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with refusing_engine_settings():
        container = build_container(settings, with_worker=True, worker_models=wanted)
    assert container.worker is not None  # worker_threads >= 1
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s: stopping; a running job goes back to the queue at its next step", signal.strsignal(signum))
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        container.worker.start()
        if container.deliverer is not None:
            container.deliverer.start()
        serves = ", ".join(sorted(wanted)) if wanted is not None else "every model"
        logger.info(
            "worker %s serving %s with %d thread(s) on device %s (Press CTRL+C to quit)",
            container.worker.owner, serves, settings.jobs.worker_threads, settings.engine.device,
        )  # fmt: skip
        while not stopping.wait(0.5):
            pass
    finally:
        container.close()
    logger.info("worker stopped")
