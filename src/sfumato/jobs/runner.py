"""`run_job`: one claimed job from plan to stored images. Every worker kind calls this.

The database is the record: images are written to the blob store first, then one
transaction adds their rows and flips the generation to COMPLETE, so a reader sees either
no images or all of them. Storing is part of the attempt: a failed write (disk full, a path
in the way) removes what was written and is retried at once like a failed render, then ends
FAILED with the reason, so it never holds the key's slot until the lease lapses.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from sfumato.catalog import ModelCatalog
from sfumato.domain.generation import GenerationPlan
from sfumato.domain.status import JobState, transition
from sfumato.engine import Engine, StepCallback
from sfumato.storage.blobs import BlobStore
from sfumato.store.repositories import park_job, refund_attempt, renew_lease, utcnow
from sfumato.store.tables import GeneratedImage, Generation, Job
from sfumato.webhooks.outbox import enqueue_generation_webhook

log = logging.getLogger(__name__)


# How long a job waits in the queue, uncounted, before looking again at its model's download.
PARK_S = 3.0


class JobInterrupted(Exception):
    """Raised from the step callback to stop a pipeline between steps (shutdown)."""


class StoreFailed(Exception):
    """Writing a rendered image failed. The message is what clients see as `failureReason`: the
    error's kind and description, never the server's file path."""


class LeaseLost(Exception):
    """Raised from the step callback when the job was deleted or another worker took it over
    after our lease lapsed: the pipeline stops and this worker writes nothing at all."""


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a job: its lease owner, lease length and how many runs a job gets."""

    owner: str
    lease_s: float
    max_attempts: int

    def still_held(self, ctx: JobContext, job_id: str) -> bool:
        """Renew the lease if we still hold it; a True answer leaves `lease_s` seconds to finish in."""
        with ctx.session_factory() as session:
            return renew_lease(session, job_id, self.owner, self.lease_s)


@dataclass
class JobContext:
    """What running a job needs; built once per worker process."""

    session_factory: sessionmaker[Session]
    catalog: ModelCatalog
    engine: Engine
    blobs: BlobStore
    # Completion webhooks: the absolute base of image URLs in the body, and a nudge for the deliverer.
    files_base_url: str = "http://127.0.0.1:8000"
    on_webhook: Callable[[], None] | None = None


def image_file_stem(model_name: str, prompt: str, index: int) -> str:
    """`Sfumato_Tiny_a_red_fox_0`: Leonardo's `<Model_Name>_<prompt_words>_<i>` file names."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", prompt).strip("_")[:60].rstrip("_") or "image"
    model = re.sub(r"[^A-Za-z0-9]+", "_", model_name).strip("_")
    return f"{model}_{words}_{index}"


def run_job(ctx: JobContext, job_id: str, on_step: StepCallback | None = None, claim: Claim | None = None) -> None:
    """Render a RUNNING job and record the outcome; never raises for a job's own failure.

    With a `claim`, a failed run is re-queued until the job has been tried `max_attempts` times,
    and nothing is written (images, state) unless this worker still holds the job's lease.
    """
    with ctx.session_factory() as session:
        job = session.get(Job, job_id)
        generation = session.get(Generation, job.generation_id) if job else None
        if job is None or generation is None:
            return  # deleted while queued
        plan = GenerationPlan.from_json(generation.plan)
        user_id, generation_id, attempts = generation.user_id, generation.id, job.attempts

    try:
        entry = ctx.catalog.resolve_key(plan.catalog_key)
        # Absent weights are downloaded first (a failed download fails this attempt); the
        # generation stays PENDING meanwhile, its job parked so the worker serves other models.
        if not ctx.engine.weights_ready(entry) and claim is not None:
            _park(ctx, job_id, claim, entry.source)
            return
        images = ctx.engine.render(entry, plan.render_request(), on_step)
        if claim is not None and not claim.still_held(ctx, job_id):
            return  # a stale worker: whoever holds the job now writes the one image set
        prefix = f"users/{user_id}/generations/{generation_id}"
        keys = _store_images(ctx, prefix, entry.name, plan.prompt, images)
    except LeaseLost:
        log.info("generation %s was deleted or taken over while running; dropped", generation_id)
        return
    except JobInterrupted:
        if claim is not None:
            if not claim.still_held(ctx, job_id):
                return
            with ctx.session_factory() as session:
                refund_attempt(session, job_id, claim.owner)  # a shutdown is not a failed try
        _finish(ctx, job_id, JobState.QUEUED, reason=None)
        return
    except StoreFailed as error:
        log.warning("generation %s: %s (attempt %d): %r", generation_id, error, attempts, error.__cause__)
        _end_attempt(ctx, job_id, claim, attempts, str(error))
        return
    except Exception as error:  # a job's failure must never kill the worker
        log.exception("generation %s failed (attempt %d)", generation_id, attempts)
        _end_attempt(ctx, job_id, claim, attempts, _describe(error))
        return

    if not _finish(ctx, job_id, JobState.DONE, reason=None, image_keys=keys):
        ctx.blobs.delete_prefix(prefix)  # deleted while running: drop the orphans


def _store_images(ctx: JobContext, prefix: str, model_name: str, prompt: str, images: list[Image.Image]) -> list[str]:
    """Write every image, or leave none: on a failure the files written so far (temp files too)
    are removed and `StoreFailed` says which image failed and why."""
    keys = []
    for index, image in enumerate(images):
        key = f"{prefix}/{image_file_stem(model_name, prompt, index)}.png"
        try:
            ctx.blobs.put(key, _png_bytes(image))
        except Exception as error:
            ctx.blobs.delete_prefix(prefix)
            raise StoreFailed(f"storing image {index} failed: {_describe(error)}") from error
        keys.append(key)
    return keys


def _describe(error: Exception) -> str:
    """A failure as clients see it, `<kind>: <what>`: an OS error's strerror without its file name
    (`NotADirectoryError: Not a directory`), a database error without its SQL."""
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    if isinstance(error, DBAPIError):
        return f"{type(error).__name__}: {error.orig}"
    return f"{type(error).__name__}: {error}"


def _end_attempt(ctx: JobContext, job_id: str, claim: Claim | None, attempts: int, reason: str) -> None:
    """A failed run: back to the queue at once while attempts remain, else FAILED with `reason`
    (either way the key's slot frees now). A worker that lost the job writes nothing."""
    if claim is not None and not claim.still_held(ctx, job_id):
        return
    retry = claim is not None and attempts < claim.max_attempts
    _finish(ctx, job_id, JobState.QUEUED if retry else JobState.FAILED, reason=reason)


def abandon_job(ctx: JobContext, job_id: str, claim: Claim, reason: str) -> None:
    """End a run that broke outside the job's own failure handling (a bug, a database error):
    re-queued at once or FAILED like any failed run, not left RUNNING until its lease lapses."""
    with ctx.session_factory() as session:
        job = session.get(Job, job_id)
        attempts = job.attempts if job is not None else None
    if attempts is not None:
        _end_attempt(ctx, job_id, claim, attempts, reason)


def _park(ctx: JobContext, job_id: str, claim: Claim, waiting_for: str) -> None:
    """Back to the queue until `PARK_S` from now, uncounted: the worker thread is free for other
    models' jobs while this one's weights download (it checks again when next claimed)."""
    with ctx.session_factory() as session:
        if park_job(session, job_id, claim.owner, utcnow() + timedelta(seconds=PARK_S)):
            log.info("job %s parked for %.0f s while %s downloads", job_id, PARK_S, waiting_for)


def fail_job(ctx: JobContext, job_id: str, reason: str) -> bool:
    """End a job (and its generation) FAILED from outside a run, e.g. out of attempts after crashes."""
    return _finish(ctx, job_id, JobState.FAILED, reason=reason)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _finish(
    ctx: JobContext,
    job_id: str,
    target: JobState,
    reason: str | None,
    image_keys: list[str] | None = None,
) -> bool:
    """Move job and generation together in one transaction, with the webhook outbox row
    (if the key has a webhook) in that same transaction. False if the job is gone."""
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
        generation.status = target.generation_status
        generation.failure_reason = reason
        generation.updated_at = now
        for position, key in enumerate(image_keys or []):
            generation.images.append(
                GeneratedImage(id=str(uuid.uuid4()), position=position, blob_key=key, nsfw=False, created_at=now)
            )
        webhook = target.terminal and enqueue_generation_webhook(
            session, generation, ctx.catalog, ctx.files_base_url, now
        )
    if webhook and ctx.on_webhook is not None:
        ctx.on_webhook()
    return True
