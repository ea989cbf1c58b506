"""The queue door the API uses: tell workers a job was queued, or that a generation was deleted.

The database already holds every job (QUEUED rows are the record); this only says "look now". Two
mechanisms: `LocalQueue`, which nudges the workers that claim from the database (threads in this
process, or the worker process `serve` supervises), and `CeleryQueue` (`jobs.celery_queue`), which
sends a Celery task per job to its model's queue. A message that never arrives costs only time: a
database worker polls, and a Celery worker's sweep sends a lost job's message again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class QueuedJob:
    """A job just committed QUEUED, and the catalog model whose queue carries it (None: a fallback row
    serving by `sd_version`, which has no id; its jobs go to the default queue)."""

    job_id: str
    model_id: str | None


class JobQueue(Protocol):
    def submitted(self, job: QueuedJob) -> None:
        """`job` was committed QUEUED: deliver it (never raises; a lost message is recovered later)."""

    def deleted(self, generation_id: str, job_ids: Sequence[str]) -> None:
        """The generation and its jobs were deleted: drop queued messages, stop a running pipeline."""


def _nothing(*_args: object) -> None:
    return None


@dataclass
class LocalQueue:
    """Workers claim from the database: wake an idle one, and tell them of a deletion so the one
    running it stops at once (any other process notices through the database within a second)."""

    wake: Callable[[], None] = _nothing
    cancel: Callable[[str], None] = _nothing

    def submitted(self, job: QueuedJob) -> None:
        self.wake()

    def deleted(self, generation_id: str, job_ids: Sequence[str]) -> None:
        self.cancel(generation_id)
