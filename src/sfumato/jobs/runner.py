"""`run_job`: one claimed job from plan to stored images. Every worker kind calls this.

Orchestration only: load the plan, make sure the model's weights are there (or park the job while
they download), render, store the images (`outputs`), and move job and generation together. The
queue's SQL is `queue`, the hold on the job is `lease`. A variation's job (upscale, unzoom, no
background) takes the same path with its own picture-making and end (`variation_runner`).

The database is the record: images are written to the blob store first, then one transaction adds
their rows and flips the generation to COMPLETE, so a reader sees either no images or all of them.
Storing is part of the attempt: a failed write (disk full, a path in the way) removes what was
written and is retried at once like a failed render, then ends FAILED with the reason, so it never
holds the key's slot until the lease lapses.

A failed run with attempts left goes back to the queue with its reason on the job (`last_error`);
the generation stays PENDING with no `failureReason` until the job ends FAILED.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from sfumato.catalog import CatalogEntry, ModelCatalog
from sfumato.domain.generation import GenerationPlan
from sfumato.domain.status import JobState, transition
from sfumato.engine import Engine, StepCallback
from sfumato.jobs.lease import Lease, LeaseLost
from sfumato.jobs.outputs import StoreFailed, generation_prefix, store_images, store_variation, variation_prefix
from sfumato.jobs.queue import park_job, requeue_job
from sfumato.jobs.render_request import render_request
from sfumato.jobs.variation_runner import VariationWork, end_variation, load_variation, make_variation
from sfumato.storage.blobs import BlobStore
from sfumato.store.repositories import utcnow
from sfumato.store.tables import GeneratedImage, Generation, Job
from sfumato.webhooks.outbox import enqueue_generation_webhook

log = logging.getLogger(__name__)


# How long a job waits in the queue, uncounted, before looking again at its model's download.
PARK_S = 3.0


class JobInterrupted(Exception):
    """Raised from the step callback to stop a pipeline between steps (shutdown)."""


@dataclass
class JobContext:
    """What running a job needs; built once per process."""

    session_factory: sessionmaker[Session]
    catalog: ModelCatalog
    engine: Engine
    blobs: BlobStore
    # Runs a job gets (failed renders, failed writes, dead workers) before it ends FAILED.
    max_attempts: int = 3
    # Completion webhooks: the absolute base of image URLs in the body, and a nudge for the deliverer.
    files_base_url: str = "http://127.0.0.1:8000"
    on_webhook: Callable[[], None] | None = None


@dataclass(frozen=True)
class _Claimed:
    """What a run reads of its job before it starts."""

    plan: GenerationPlan
    user_id: str
    generation_id: str
    attempts: int
    variation: VariationWork | None = None  # a variation's job (of one of the generation's images)

    @property
    def prefix(self) -> str:
        """Where its files go: the generation's, or the variation's folder under it."""
        prefix = generation_prefix(self.user_id, self.generation_id)
        return prefix if self.variation is None else variation_prefix(prefix, self.variation.variation_id)

    @property
    def subject(self) -> str:
        """What the job makes, for the log."""
        if self.variation is None:
            return f"generation {self.generation_id}"
        return f"{self.variation.transform} variation {self.variation.variation_id}"


def run_job(ctx: JobContext, lease: Lease, on_step: StepCallback | None = None) -> None:
    """Render the job held under `lease` and record the outcome; never raises for a job's own failure.

    A failed run is re-queued until the job has been tried `ctx.max_attempts` times, and nothing
    is written (images, state) unless `lease` is still held.
    """
    claimed = _load(ctx, lease.job_id)
    if claimed is None:
        return  # deleted while queued
    nsfw: list[bool] = []
    try:
        if claimed.variation is None:
            keys, nsfw = _make_generation(ctx, lease, claimed, on_step) or (None, [])
        else:
            keys = _make_variation(ctx, lease, claimed, claimed.variation, on_step)
    except LeaseLost:
        log.info("%s was deleted or taken over while running; dropped", claimed.subject)
        return
    except JobInterrupted:
        with ctx.session_factory() as session:
            requeue_job(session, lease.job_id, lease.owner, last_error=None, refund=True)  # not a failed try
        return
    except StoreFailed as error:
        reason = f"{error}: {_describe(error.cause)}"
        log.warning("%s: %s (attempt %d): %r", claimed.subject, reason, claimed.attempts, error.cause)
        _end_attempt(ctx, lease, claimed.attempts, reason)
        return
    except Exception as error:  # a job's failure must never kill the worker
        log.exception("%s failed (attempt %d)", claimed.subject, claimed.attempts)
        _end_attempt(ctx, lease, claimed.attempts, _describe(error))
        return

    if keys is not None and not _end(ctx, lease.job_id, JobState.DONE, reason=None, image_keys=keys, nsfw=nsfw):
        ctx.blobs.delete_prefix(claimed.prefix)  # deleted while running: drop the orphans


def _model_ready(ctx: JobContext, lease: Lease, plan: GenerationPlan) -> CatalogEntry | None:
    """The plan's model once its weights are on disk; None after parking the job while they
    download (a failed download fails this attempt). The job's subject stays PENDING meanwhile,
    and the worker serves other models' jobs."""
    entry = ctx.catalog.resolve_key(plan.catalog_key)
    if ctx.engine.weights_ready(entry):
        return entry
    _park(ctx, lease, entry.weights.source)
    return None


def _make_generation(
    ctx: JobContext, lease: Lease, claimed: _Claimed, on_step: StepCallback | None
) -> tuple[list[str], list[bool]] | None:
    """The generation's images, stored, and each one's NSFW flag; None if parked or no longer ours."""
    entry = _model_ready(ctx, lease, claimed.plan)
    if entry is None:
        return None
    images = ctx.engine.render(entry, render_request(claimed.plan, ctx.blobs), on_step)
    if claimed.plan.transparent:  # transparency: foreground_only, by the catalog's background remover
        images = [ctx.engine.remove_background(image) for image in images]
    flags = [ctx.engine.nsfw(image) for image in images]  # flagged, stored unchanged (as Leonardo does)
    if not lease.renew():
        return None  # a stale worker: whoever holds the job now writes the one image set
    return store_images(ctx.blobs, claimed.prefix, entry.name, claimed.plan.prompt, images), flags


def _make_variation(
    ctx: JobContext, lease: Lease, claimed: _Claimed, work: VariationWork, on_step: StepCallback | None
) -> list[str] | None:
    """The variation's one picture, stored (`variation_runner`); None if parked or no longer ours."""
    entry = _model_ready(ctx, lease, claimed.plan) if work.uses_model else None
    if work.uses_model and entry is None:
        return None
    picture = make_variation(ctx.engine, entry, claimed.plan, work, ctx.blobs, on_step)
    if not lease.renew():
        return None
    prefix = generation_prefix(claimed.user_id, claimed.generation_id)
    return [store_variation(ctx.blobs, prefix, work.variation_id, work.transform.lower(), picture)]


def _load(ctx: JobContext, job_id: str) -> _Claimed | None:
    with ctx.session_factory() as session:
        job = session.get(Job, job_id)
        generation = session.get(Generation, job.generation_id) if job else None
        if job is None or generation is None:
            return None
        variation = load_variation(session, job.variation_id) if job.variation_id is not None else None
        if job.variation_id is not None and variation is None:
            return None
        # A variation draws, if at all (unzoom), only from the fields every plan version has.
        plan = GenerationPlan.from_json(generation.plan, to_run=variation is None)
        return _Claimed(plan, generation.user_id, generation.id, job.attempts, variation)


def _describe(error: Exception) -> str:
    """A failure as clients see it, `<kind>: <what>`: an OS error's strerror without its file name
    (`NotADirectoryError: Not a directory`), a database error without its SQL."""
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    if isinstance(error, DBAPIError):
        return f"{type(error).__name__}: {error.orig}"
    return f"{type(error).__name__}: {error}"


def _end_attempt(ctx: JobContext, lease: Lease, attempts: int, reason: str) -> None:
    """A failed run: back to the queue at once while attempts remain, else FAILED with `reason`
    (either way the key's slot frees now). A worker that lost the job writes nothing."""
    if attempts < ctx.max_attempts:
        with ctx.session_factory() as session:
            requeue_job(session, lease.job_id, lease.owner, last_error=reason)
    elif lease.renew():
        _end(ctx, lease.job_id, JobState.FAILED, reason=reason)


def abandon_job(ctx: JobContext, lease: Lease, reason: str) -> None:
    """End a run that broke outside the job's own failure handling (a bug, a database error):
    re-queued at once or FAILED like any failed run, not left RUNNING until its lease lapses."""
    with ctx.session_factory() as session:
        job = session.get(Job, lease.job_id)
        attempts = job.attempts if job is not None else None
    if attempts is not None:
        _end_attempt(ctx, lease, attempts, reason)


def _park(ctx: JobContext, lease: Lease, waiting_for: str) -> None:
    """Back to the queue until `PARK_S` from now, uncounted: the worker thread is free for other
    models' jobs while this one's weights download (it checks again when next claimed)."""
    with ctx.session_factory() as session:
        if park_job(session, lease.job_id, lease.owner, utcnow() + timedelta(seconds=PARK_S)):
            log.info("job %s parked for %.0f s while %s downloads", lease.job_id, PARK_S, waiting_for)


def fail_job(ctx: JobContext, job_id: str, reason: str) -> bool:
    """End a job (and its generation or variation) FAILED from outside a run, e.g. out of attempts
    after crashes."""
    return _end(ctx, job_id, JobState.FAILED, reason=reason)


def _end(
    ctx: JobContext,
    job_id: str,
    target: JobState,
    reason: str | None,
    image_keys: list[str] | None = None,
    nsfw: list[bool] | None = None,
) -> bool:
    """The terminal transition (DONE or FAILED): job and generation (or, for a variation's job,
    variation) move together in one transaction, with a generation's webhook outbox row (if the key
    has a webhook) in that same transaction. False if the job is gone."""
    with ctx.session_factory() as session, session.begin():
        job = session.get(Job, job_id)
        generation = session.get(Generation, job.generation_id) if job else None
        if job is None or generation is None:
            return False
        now = utcnow()
        job.state = transition(JobState(job.state), target)
        job.lease_owner = job.lease_expires_at = None
        job.last_error = reason
        job.updated_at = now
        if job.variation_id is not None:
            # No webhook: Leonardo documents no event for variations (docs/variations.md).
            end_variation(session, job.variation_id, target, reason, image_keys[0] if image_keys else None, now)
            return True
        generation.status = target.generation_status
        generation.failure_reason = reason
        generation.updated_at = now
        flags = nsfw or []
        for position, key in enumerate(image_keys or []):
            flagged = position < len(flags) and flags[position]
            generation.images.append(
                GeneratedImage(id=str(uuid.uuid4()), position=position, blob_key=key, nsfw=flagged, created_at=now)
            )
        blobs, base = ctx.blobs, ctx.files_base_url
        webhook = enqueue_generation_webhook(session, generation, ctx.catalog, lambda key: blobs.url(key, base), now)
    if webhook and ctx.on_webhook is not None:
        ctx.on_webhook()
    return True
