"""A scale-out deployment on this machine: a fresh PostgreSQL database, a moto S3 bucket, a broker
namespace of its own (RabbitMQ or Redis), an API-only `sfumato serve` and N `sfumato worker`
processes (Celery), all started from one shared environment, as compose.yaml runs them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.moto_s3 import CREDENTIALS, MotoS3, moto_s3, moto_s3_process
from tests.support.server import Server
from tests.support.services import broker_url, postgres_database, queue_namespace
from tests.support.workers import Worker


@contextmanager
def scaleout_environment(
    broker: str = "redis", *, s3_process: bool = False, **settings: str
) -> Iterator[tuple[dict[str, str], MotoS3]]:
    """The `SFUMATO_*` (and AWS) variables of a scale-out deployment with its own database, bucket and
    queues, plus the bucket; `settings` adds or overrides variables. Skips/fails without the services.
    `s3_process`: moto in a process of its own (benchmarks), not a thread of this one."""
    url = broker_url(broker)
    with ExitStack() as stack:
        database = stack.enter_context(postgres_database())
        saved = {name: os.environ.get(name) for name in CREDENTIALS}
        os.environ.update(CREDENTIALS)  # the test process signs S3 requests too (listing the bucket)
        stack.callback(_restore, saved)
        s3 = moto_s3_process if s3_process else moto_s3
        bucket = stack.enter_context(s3(f"sfumato-{uuid.uuid4().hex[:10]}"))
        env = {
            **CREDENTIALS,
            "SFUMATO_DATABASE_URL": database,
            "SFUMATO_QUEUE": "celery",
            "SFUMATO_BROKER_URL": url,
            "SFUMATO_QUEUE_NAMESPACE": queue_namespace(),
            "SFUMATO_STORAGE": "s3",
            "SFUMATO_S3_BUCKET": bucket.bucket,
            "SFUMATO_S3_ENDPOINT_URL": bucket.endpoint_url,
            **settings,
        }
        yield env, bucket


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass
class Deployment:
    """An API-only server and `workers` Celery worker processes sharing one environment."""

    data_dir: Path
    env: dict[str, str]
    bucket: MotoS3
    workers: int = 1
    worker_args: tuple[str, ...] = ()
    server: Server = field(init=False)
    worker_processes: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = Server(self.data_dir / "api", env=self.env, args=("--no-worker", "--migrate"))

    def start(self) -> None:
        self.server.start()  # migrates the fresh database first: workers refuse a schema that is behind
        for number in range(self.workers):
            self.add_worker(number)
        for worker in self.worker_processes:
            worker.wait_ready()

    def add_worker(self, number: int | None = None) -> Worker:
        """One more worker process, spawned (call `wait_ready()` on it to wait)."""
        number = len(self.worker_processes) if number is None else number
        data_dir = self.data_dir / f"worker-{number}-{uuid.uuid4().hex[:6]}"
        data_dir.mkdir(parents=True, exist_ok=True)
        worker = Worker(data_dir, args=self.worker_args, env=self.env)
        worker.spawn()
        self.worker_processes.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.worker_processes:
            worker.stop()
        self.server.stop()


@contextmanager
def deployment(
    data_dir: Path, broker: str = "redis", workers: int = 1, *, s3_process: bool = False, **settings: str
) -> Iterator[Deployment]:
    """A started scale-out deployment for the block, stopped (and its database dropped) after it."""
    with scaleout_environment(broker, s3_process=s3_process, **settings) as (env, bucket):
        running = Deployment(data_dir, env, bucket, workers=workers)
        try:
            running.start()
            yield running
        finally:
            running.stop()
