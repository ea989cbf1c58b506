"""A generation's progress as Server-Sent Events (`GET /generations/{id}/events`, beyond Leonardo).

The stream is made from what the database says now (`GenerationProgress`, read by any API process
while any worker runs the job), so an event is a view of a state, and its id orders states:
`<attempt>.<phase>.<n>`. A retried attempt starts above every event of the one before; images and
the end come after every attempt. A client that reconnects with `Last-Event-ID` gets only the
events after it; one whose last event was the end is told there is nothing more (204).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfumato.domain.status import GenerationStatus

# Phases within an attempt, then after every attempt.
_PENDING, _QUEUED, _RUNNING, _IMAGE, _END = 0, 1, 2, 3, 4
_AFTER_ATTEMPTS = 1_000_000
_MAX_POSITION = 1_000_000


@dataclass(frozen=True, order=True)
class EventId:
    attempt: int
    phase: int
    n: int

    def __str__(self) -> str:
        return f"{self.attempt}.{self.phase}.{self.n}"

    @classmethod
    def parse(cls, text: str | None) -> EventId | None:
        """A client's `Last-Event-ID`; None for a missing or foreign one (then the stream starts over)."""
        parts = (text or "").strip().split(".")
        if len(parts) != 3 or not all(part.isdigit() and len(part) <= 9 for part in parts):
            return None
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))


@dataclass(frozen=True)
class Event:
    id: EventId
    name: str  # status | progress | image | complete | failed
    data: dict[str, Any]


@dataclass(frozen=True)
class GenerationProgress:
    """What the stream shows of one generation now."""

    generation_id: str
    status: GenerationStatus
    failure_reason: str | None
    job_state: str | None  # QUEUED | RUNNING | DONE | FAILED; None once the job row is gone
    attempts: int
    step: int | None
    total: int | None
    queue_position: int | None  # while QUEUED
    images: tuple[tuple[str, str], ...]  # (image id, url), in position order, once COMPLETE

    @property
    def finished(self) -> bool:
        return self.status in (GenerationStatus.COMPLETE, GenerationStatus.FAILED)


def end_id() -> EventId:
    return EventId(_AFTER_ATTEMPTS, _END, 0)


def events_after(progress: GenerationProgress, last: EventId | None) -> list[Event]:
    """The events that describe `progress`, newer than `last`, in order."""
    return [event for event in _events_of(progress) if last is None or event.id > last]


def _events_of(progress: GenerationProgress) -> list[Event]:
    events = [Event(EventId(0, _PENDING, 0), "status", {"generationId": progress.generation_id, "status": "PENDING"})]
    if progress.job_state == "QUEUED" and progress.queue_position is not None and not progress.finished:
        position = min(progress.queue_position, _MAX_POSITION - 1)
        events.append(
            Event(
                # Waiting for its next run: the one after the `attempts` runs it has had.
                EventId(progress.attempts + 1, _QUEUED, _MAX_POSITION - position),
                "progress",
                {"step": 0, "total": progress.total or 0, "queuePosition": position},
            )
        )
    if progress.job_state == "RUNNING" and progress.step is not None and not progress.finished:
        events.append(
            Event(
                EventId(progress.attempts, _RUNNING, progress.step),
                "progress",
                {"step": progress.step, "total": progress.total, "queuePosition": 0},
            )
        )
    if progress.status == GenerationStatus.COMPLETE:
        if progress.total:  # its last step, even if the render finished between two looks
            events.append(
                Event(
                    EventId(progress.attempts, _RUNNING, progress.total),
                    "progress",
                    {"step": progress.total, "total": progress.total, "queuePosition": 0},
                )
            )
        for position, (image_id, url) in enumerate(progress.images):
            events.append(Event(EventId(_AFTER_ATTEMPTS, _IMAGE, position), "image", {"id": image_id, "url": url}))
        events.append(Event(end_id(), "complete", {"generationId": progress.generation_id, "status": "COMPLETE"}))
    elif progress.status == GenerationStatus.FAILED:
        events.append(
            Event(
                end_id(),
                "failed",
                {"generationId": progress.generation_id, "status": "FAILED", "failureReason": progress.failure_reason},
            )
        )
    return events
