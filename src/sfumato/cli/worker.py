"""`sfumato worker`: the job worker alone, beside API-only servers (`sfumato serve --no-worker`).

With the database as the queue (the default) it runs database worker threads (`LocalWorker`
claiming from the `jobs` table); with `SFUMATO_QUEUE=celery` a Celery worker consuming one queue per
model it serves (`jobs.celery_worker`); both render through `run_job`. It reads the same settings as
`serve`; it also delivers the webhook outbox, as every server does (claims are compare-and-set, so
any number of processes share it), so "at least once" holds with no API process up. SIGTERM or
Ctrl-C stops it between steps: a job interrupted so goes back to QUEUED without spending an attempt,
for the next worker. Under `serve` (`--control-stdin`) it also takes the server's commands on stdin.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from sfumato.cli.common import DataDir, load_settings, refuse, refusing_engine_settings
from sfumato.cli.db import require_current_schema
from sfumato.config import Settings
from sfumato.jobs.worker_process import CANCEL, READY, WAKE

if TYPE_CHECKING:
    from sfumato.container import Container

logger = logging.getLogger("sfumato.worker")

# The scheduling niceness of the worker `serve` supervises: on a machine shared with the API, the API's
# requests preempt the render (on a GPU the render mostly waits on the device anyway).
SERVED_WORKER_NICENESS = 10


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
    control_stdin: Annotated[
        bool, typer.Option("--control-stdin", hidden=True, help="Read `serve`'s commands on stdin (internal).")
    ] = False,
    ready_fd: Annotated[
        int | None, typer.Option("--ready-fd", hidden=True, help="Say `ready` on this fd once serving (internal).")
    ] = None,
) -> None:
    """Run the job worker alone: claim queued generations from the database and render them."""
    settings = load_settings(data_dir, worker_threads=concurrency, device=device)
    if control_stdin:
        # Under `serve`, on the server's machine: requests go first, a render takes the CPU time left.
        os.nice(SERVED_WORKER_NICENESS)
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
        container = build_container(settings, with_worker=True, worker_here=True, worker_models=wanted)
    serves = ", ".join(sorted(wanted)) if wanted is not None else "every model"
    try:
        if settings.queue.backend == "celery":
            code = _run_celery_worker(container, wanted, serves, control_stdin, ready_fd)
        else:
            _run_database_worker(container, serves, control_stdin, ready_fd)
            code = 0
    finally:
        container.close()
    logger.info("worker stopped")
    if code:
        raise typer.Exit(code)


def _announce(owner: str, serves: str, settings: Settings, carrier: str, ready_fd: int | None) -> None:
    logger.info(
        "worker %s serving %s with %d thread(s) on device %s, jobs from %s (Press CTRL+C to quit)",
        owner, serves, settings.jobs.worker_threads, settings.engine.device, carrier,
    )  # fmt: skip
    if ready_fd is not None:  # `serve` waits for this before it starts answering (jobs.worker_process)
        try:
            os.write(ready_fd, READY)
            os.close(ready_fd)
        except OSError:
            logger.warning("could not tell the server this worker is ready", exc_info=True)


def _run_database_worker(container: Container, serves: str, control_stdin: bool, ready_fd: int | None) -> None:
    """Database worker threads until SIGTERM/SIGINT (or, under `serve`, the end of its commands)."""
    worker = container.worker
    assert worker is not None  # worker_threads >= 1 and a local queue
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s: stopping; a running job goes back to the queue at its next step", signal.strsignal(signum))
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    container.start()
    if control_stdin:
        _read_commands(worker.notify, worker.cancel)
    _announce(worker.owner, serves, container.settings, "the database", ready_fd)
    while not stopping.wait(0.5):
        pass


def _run_celery_worker(
    container: Container, wanted: frozenset[str] | None, serves: str, control_stdin: bool, ready_fd: int | None
) -> int:
    """A Celery worker consuming this worker's model queues until a warm shutdown; its exit status."""
    from sfumato.jobs.celery_queue import CeleryQueue
    from sfumato.jobs.celery_worker import CeleryWorker

    queue = container.queue
    assert isinstance(queue, CeleryQueue)
    settings = container.settings
    models: list[str | None] = [*sorted(wanted)] if wanted is not None else [*sorted(container.catalog.models), None]
    worker = CeleryWorker(
        container.jobs,
        queue,
        threads=settings.jobs.worker_threads,
        lease_s=settings.jobs.lease_s,
        default_concurrency=settings.jobs.default_key_concurrency,
        resend_after_s=settings.queue.resend_after_s,
        models=models,
        only_models=wanted,
    )
    worker.on_ready = lambda: _announce(worker.owner, serves, settings, "Celery", ready_fd)
    container.start()  # the webhook deliverer
    if control_stdin:
        _read_commands(lambda: None, worker.executor.cancel)
    return worker.run()


def _read_commands(wake: Callable[[], None], cancel: Callable[[str], None]) -> None:
    """`serve`'s commands on stdin (`jobs.worker_process`); their end means the server is gone, so stop."""

    def read() -> None:
        for raw in sys.stdin:
            command, _, argument = raw.strip().partition(" ")
            if command == WAKE:
                wake()
            elif command == CANCEL and argument:
                cancel(argument)
        logger.info("the server that started this worker is gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=read, name="sfumato-worker-commands", daemon=True).start()
