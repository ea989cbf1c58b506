"""The composition root: builds the store, blob store, catalog, engine, worker and
services once per process from one Settings. Everything else receives what it needs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from sfumato.catalog import ModelCatalog, load_catalog
from sfumato.config import Settings
from sfumato.domain.pricing import PriceModel
from sfumato.engine import Engine, HubAccess
from sfumato.jobs.dispatch import JobQueue, LocalQueue
from sfumato.jobs.local_worker import LocalWorker
from sfumato.jobs.runner import JobContext
from sfumato.jobs.worker_process import WorkerSupervisor
from sfumato.service.generation_events import GenerationEvents
from sfumato.service.generations import GenerationService
from sfumato.service.idempotency import IdempotencyService
from sfumato.service.init_images import InitImageService
from sfumato.service.inline_images import InlineImages
from sfumato.service.keys import KeyService
from sfumato.service.openai_images import OpenAIImagesService
from sfumato.service.prompts import PromptService
from sfumato.service.v2_generations import V2GenerationService
from sfumato.service.variations import VariationService
from sfumato.storage.blobs import BlobStore, LocalBlobStore
from sfumato.storage.uploads import LocalUploadTarget, UploadSigner, UploadTarget
from sfumato.store.db import open_store
from sfumato.webhooks.deliverer import WebhookDeliverer

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    db: SqlEngine
    session_factory: sessionmaker[Session]
    catalog: ModelCatalog
    engine: Engine
    blobs: BlobStore
    keys: KeyService
    generations: GenerationService
    variations: VariationService
    init_images: InitImageService
    # `POST /api/rest/v2/generations`: v2 requests through `generations` (docs/v2.md).
    v2_generations: V2GenerationService
    # Prompts by the configured LLM (`/prompt/*`, `enhancePrompt`); refuses with 400 without one.
    prompts: PromptService
    # A generation's progress as it moves, read from the database (`GET /generations/{id}/events`).
    generation_events: GenerationEvents
    # Replays the first answer of a create retried with the same Idempotency-Key.
    idempotency: IdempotencyService
    # The OpenAI Images API door (`/v1/images/*`): requests through `generations`, waited for.
    openai_images: OpenAIImagesService
    # Signs the upload forms `POST /init-image` hands out and checks them at `POST /uploads`.
    uploads: LocalUploadTarget
    # What running a job needs: the worker's, and `sfumato generate`'s, which runs its own job.
    jobs: JobContext
    # Told of each job queued and each generation deleted: the database workers, or the broker.
    queue: JobQueue
    # Database worker threads in this process: `sfumato worker`'s, or a server's with
    # SFUMATO_WORKER_PROCESS=false.
    worker: LocalWorker | None
    # The worker child process a server runs (SFUMATO_WORKER_PROCESS=true, the default).
    supervisor: WorkerSupervisor | None = None
    # Sends completion webhooks; built for server processes, started by the app's lifespan.
    deliverer: WebhookDeliverer | None = None

    def start(self) -> None:
        """Start what runs beside requests: the worker (threads or child process) and the deliverer."""
        if self.worker is not None:
            self.worker.start()
        if self.supervisor is not None:
            self.supervisor.start()
        if self.deliverer is not None:
            self.deliverer.start()

    def close(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.worker is not None:
            self.worker.stop()
        if self.deliverer is not None:
            self.deliverer.stop()
        self.db.dispose()


def _storage(settings: Settings, local_uploads: LocalUploadTarget) -> tuple[BlobStore, UploadTarget]:
    """The blob store and where init images are uploaded: the data dir and `POST /uploads`, or the
    bucket and its own presigned POST (docs/architecture.md "Storage")."""
    storage = settings.storage
    if storage.backend == "local" or storage.s3_bucket is None:
        return LocalBlobStore(settings.images_dir), local_uploads
    from sfumato.storage.s3 import S3BlobStore, S3UploadTarget, s3_client  # boto3 loads only for a bucket

    client = s3_client(storage.s3_endpoint_url, storage.s3_region)
    bucket = S3BlobStore(client, storage.s3_bucket, storage.s3_public_url, storage.s3_url_expiry_s)
    return bucket, S3UploadTarget(bucket, settings.uploads.expiry_s, settings.uploads.max_bytes)


def _job_queue(settings: Settings, wake: Callable[[], None], cancel: Callable[[str], None]) -> JobQueue:
    """The database workers' nudges, or the broker (Celery loads only in that mode)."""
    if settings.queue.backend == "local":
        return LocalQueue(wake, cancel)
    from sfumato.jobs.celery_queue import CeleryQueue, celery_app

    return CeleryQueue(celery_app(settings.queue), settings.queue.namespace)


def build_container(
    settings: Settings,
    *,
    with_worker: bool,
    worker_here: bool = False,
    worker_models: frozenset[str] | None = None,
) -> Container:
    """Everything a server (with_worker=True: it also generates) or a CLI command needs.

    A server's worker is a supervised child process (SFUMATO_WORKER_PROCESS, always with a Celery
    queue) or threads of its own; `worker_here` is the worker process itself (`sfumato worker`),
    whose database worker threads are built here (a Celery worker is built by the command from
    `jobs` and `queue`). `worker_models` limits the worker to those models' jobs (`--models`)."""
    db, session_factory = open_store(settings.sqlalchemy_url, settings.database.busy_timeout_s)
    catalog = load_catalog(settings)
    # Absent models: refused at POST, or fetched by the worker when the hub can be reached.
    engine = Engine(settings.engine, settings.models_dir, HubAccess.from_settings(settings.models), catalog)
    uploads = LocalUploadTarget(UploadSigner.from_file(settings.upload_secret_file), settings.uploads.expiry_s)
    blobs, upload_target = _storage(settings, uploads)

    deliverer: WebhookDeliverer | None = None
    if with_worker:
        deliverer = WebhookDeliverer(
            session_factory,
            poll_interval_s=settings.webhooks.poll_interval_s,
            backoff_scale=settings.webhooks.backoff_scale,
            timeout_s=settings.webhooks.timeout_s,
        )
    ctx = JobContext(
        session_factory=session_factory,
        catalog=catalog,
        engine=engine,
        blobs=blobs,
        max_attempts=settings.jobs.max_attempts,
        files_base_url=settings.files_base_url,
        on_webhook=deliverer.notify if deliverer else None,
    )
    worker: LocalWorker | None = None
    supervisor: WorkerSupervisor | None = None
    if with_worker and settings.jobs.worker_threads > 0:
        if not worker_here and (settings.jobs.worker_process or settings.queue.backend == "celery"):
            supervisor = WorkerSupervisor(settings)  # the child loads torch; this process never does
        else:
            engine.renderer()  # a worker loads torch now and refuses engine settings it cannot honour
        if supervisor is None and settings.queue.backend == "local":
            worker = LocalWorker(
                ctx,
                threads=settings.jobs.worker_threads,
                poll_interval_s=settings.jobs.poll_interval_s,
                lease_s=settings.jobs.lease_s,
                default_concurrency=settings.jobs.default_key_concurrency,
                models=worker_models,
            )

    nudged = worker or supervisor
    queue = _job_queue(
        settings,
        wake=nudged.notify if nudged else lambda: None,
        cancel=nudged.cancel if nudged else lambda _generation_id: None,
    )
    prompts = PromptService.from_settings(settings.llm)
    init_images = InitImageService(
        session_factory=session_factory,
        blobs=blobs,
        target=upload_target,
        max_bytes=settings.uploads.max_bytes,
        max_pixels=settings.uploads.max_pixels,
        uploads_direct=upload_target is not uploads,
    )
    generations = GenerationService(
        session_factory=session_factory,
        catalog=catalog,
        engine=engine,
        prices=PriceModel(
            image_base=settings.prices.image_base,
            per_megapixel=settings.prices.per_megapixel,
            alchemy_multiplier=settings.prices.alchemy_multiplier,
            per_element=settings.prices.per_element,
            per_guide=settings.prices.per_guide,
        ),
        blobs=blobs,
        queue=queue,
        queue_cap=settings.limits.queue_cap,
        rate_per_minute=settings.limits.rate_per_minute,
        prompts=prompts,
        settle_upload=init_images.settle,
    )
    inline = InlineImages(settings.uploads.fetch_urls, settings.uploads.max_bytes, settings.uploads.fetch_timeout_s)
    return Container(
        settings=settings,
        db=db,
        session_factory=session_factory,
        catalog=catalog,
        engine=engine,
        blobs=blobs,
        keys=KeyService(session_factory),
        generations=generations,
        variations=VariationService(
            session_factory=session_factory,
            catalog=catalog,
            engine=engine,
            blobs=blobs,
            generations=generations,
        ),
        init_images=init_images,
        v2_generations=V2GenerationService(generations, init_images, inline),
        prompts=prompts,
        generation_events=GenerationEvents(session_factory),
        idempotency=IdempotencyService(session_factory),
        openai_images=OpenAIImagesService(generations, init_images, settings.openai),
        uploads=uploads,
        jobs=ctx,
        queue=queue,
        worker=worker,
        supervisor=supervisor,
        deliverer=deliverer,
    )
