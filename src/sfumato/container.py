"""The composition root: builds the store, blob store, catalog, engine, worker and
services once per process from one Settings. Everything else receives what it needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from sfumato.catalog import ModelCatalog, load_catalog
from sfumato.config import Settings
from sfumato.domain.pricing import PriceModel
from sfumato.engine import Engine, HubAccess
from sfumato.jobs.local_worker import LocalWorker
from sfumato.jobs.runner import JobContext
from sfumato.service.generations import GenerationService
from sfumato.service.init_images import InitImageService
from sfumato.service.inline_images import InlineImages
from sfumato.service.keys import KeyService
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
    # Signs the upload forms `POST /init-image` hands out and checks them at `POST /uploads`.
    uploads: LocalUploadTarget
    # What running a job needs: the worker's, and `sfumato generate`'s, which runs its own job.
    jobs: JobContext
    worker: LocalWorker | None
    # Sends completion webhooks; built for server processes, started by the app's lifespan.
    deliverer: WebhookDeliverer | None = None

    def close(self) -> None:
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


def build_container(settings: Settings, *, with_worker: bool, worker_models: frozenset[str] | None = None) -> Container:
    """Everything a server (with_worker=True: it also generates) or a CLI command needs;
    `worker_models` limits the worker to those models' jobs (`sfumato worker --models`)."""
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
    if with_worker and settings.jobs.worker_threads > 0:
        engine.renderer()  # a worker loads torch now and refuses engine settings it cannot honour
        worker = LocalWorker(
            ctx,
            threads=settings.jobs.worker_threads,
            poll_interval_s=settings.jobs.poll_interval_s,
            lease_s=settings.jobs.lease_s,
            default_concurrency=settings.jobs.default_key_concurrency,
            models=worker_models,
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
        on_queued=worker.notify if worker else (lambda: None),
        queue_cap=settings.limits.queue_cap,
        rate_per_minute=settings.limits.rate_per_minute,
        on_deleted=worker.cancel if worker else (lambda _generation_id: None),
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
            on_queued=generations.on_queued,
        ),
        init_images=init_images,
        v2_generations=V2GenerationService(generations, init_images, inline),
        prompts=prompts,
        uploads=uploads,
        jobs=ctx,
        worker=worker,
        deliverer=deliverer,
    )
