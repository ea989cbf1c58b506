"""The progress stream's use-case: what one of a user's generations shows now, read from the database
(so a job rendering in any worker process is seen by any API process), and the stream built from it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from sfumato.domain.events import Event, EventId, GenerationProgress, end_id, events_after
from sfumato.domain.status import GenerationStatus, JobState
from sfumato.jobs.queue import queue_position
from sfumato.store.repositories import get_owned_generation
from sfumato.store.tables import Job

# How often an open stream re-reads the database, and how long one stays open at most (a client
# reconnects with Last-Event-ID and carries on).
POLL_S = 0.25
MAX_STREAM_S = 30 * 60.0


@dataclass
class GenerationEvents:
    session_factory: sessionmaker[Session]
    poll_s: float = POLL_S
    max_stream_s: float = MAX_STREAM_S

    def progress(self, user_id: str, generation_id: str, url_for: Callable[[str], str]) -> GenerationProgress | None:
        """The generation's state as the stream shows it; None if it is not this user's (or gone)."""
        with self.session_factory() as session:
            generation = get_owned_generation(session, generation_id, user_id)
            if generation is None:
                return None
            job = session.scalar(select(Job).where(Job.generation_id == generation_id, Job.variation_id.is_(None)))
            position = queue_position(session, job) if job is not None and job.state == JobState.QUEUED else None
            status = GenerationStatus(generation.status)
            images = tuple(
                (image.id, url_for(image.blob_key)) for image in sorted(generation.images, key=lambda i: i.position)
            )
            return GenerationProgress(
                generation_id=generation.id,
                status=status,
                failure_reason=generation.failure_reason,
                job_state=None if job is None else str(job.state),
                attempts=0 if job is None else int(job.attempts),
                step=None if job is None else job.progress_step,
                total=None if job is None else job.progress_total,
                queue_position=position,
                images=images if status == GenerationStatus.COMPLETE else (),
            )

    @staticmethod
    def nothing_after(progress: GenerationProgress, last: EventId | None) -> bool:
        """The client already has the end: a stream would have nothing to say (answer 204)."""
        return progress.finished and last is not None and last >= end_id()

    async def stream(
        self, user_id: str, generation_id: str, url_for: Callable[[str], str], last: EventId | None
    ) -> AsyncIterator[Event | None]:
        """Events as the state moves, until the end (or the generation is deleted); None now and then
        while nothing happens, for a keep-alive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_stream_s
        while loop.time() < deadline:
            progress = await run_in_threadpool(self.progress, user_id, generation_id, url_for)
            if progress is None:
                return  # deleted: a reconnect gets 404
            fresh = events_after(progress, last)
            for event in fresh:
                yield event
                last = event.id
            if progress.finished:
                return
            if not fresh:
                yield None
            await asyncio.sleep(self.poll_s)
