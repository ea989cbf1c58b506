"""The job state machine, with Leonardo's generation statuses as its outward face.

A job is QUEUED until a worker claims it (RUNNING, under a lease), then ends DONE or
FAILED. Leonardo only knows PENDING/COMPLETE/FAILED, so QUEUED and RUNNING both read as
PENDING on the wire. `transition()` is the only way a state changes, and it never leaves
a terminal state.
"""

from __future__ import annotations

from enum import StrEnum


class GenerationStatus(StrEnum):
    """Leonardo's `job_status` enum: the only values ever put on the wire."""

    PENDING = "PENDING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


class JobState(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)

    @property
    def generation_status(self) -> GenerationStatus:
        if self is JobState.DONE:
            return GenerationStatus.COMPLETE
        if self is JobState.FAILED:
            return GenerationStatus.FAILED
        return GenerationStatus.PENDING


_ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED}),
    # RUNNING -> QUEUED is crash recovery: the lease lapsed and the job is tried again.
    JobState.RUNNING: frozenset({JobState.DONE, JobState.FAILED, JobState.QUEUED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset(),
}


class IllegalTransition(Exception):
    """A bug: code tried to move a job along an edge the state machine lacks."""


def transition(current: JobState, target: JobState) -> JobState:
    if target not in _ALLOWED[current]:
        raise IllegalTransition(f"job cannot go from {current} to {target}")
    return target
