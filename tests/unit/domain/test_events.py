"""The progress stream's events are views of states, ordered by their ids: a retry's events come
after the failed attempt's, images and the end after every attempt; resuming skips what was seen."""

from __future__ import annotations

import dataclasses

from sfumato.domain.events import EventId, GenerationProgress, events_after
from sfumato.domain.status import GenerationStatus

QUEUED = GenerationProgress("g", GenerationStatus.PENDING, None, "QUEUED", 0, None, None, 3, ())


def test_a_queued_then_running_then_retried_then_complete_generation_reads_in_order() -> None:
    states = [
        QUEUED,
        dataclasses.replace(QUEUED, queue_position=0),
        dataclasses.replace(QUEUED, job_state="RUNNING", attempts=1, step=2, total=10, queue_position=None),
        dataclasses.replace(QUEUED, job_state="QUEUED", attempts=1, queue_position=0),  # failed once, back in line
        dataclasses.replace(QUEUED, job_state="RUNNING", attempts=2, step=1, total=10, queue_position=None),
        dataclasses.replace(
            QUEUED,
            status=GenerationStatus.COMPLETE,
            job_state="DONE",
            attempts=2,
            step=10,
            total=10,
            queue_position=None,
            images=(("i0", "u0"), ("i1", "u1")),
        ),
    ]
    seen: list[tuple[EventId, str, dict[str, object]]] = []
    last: EventId | None = None
    for state in states:
        for event in events_after(state, last):
            seen.append((event.id, event.name, event.data))
            last = event.id
    ids = [event_id for event_id, _, _ in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [name for _, name, _ in seen] == [
        "status", "progress", "progress", "progress", "progress", "progress", "progress", "image", "image", "complete",
    ]  # fmt: skip
    assert [data.get("queuePosition") for _, name, data in seen if name == "progress"][:2] == [3, 0]
    assert EventId.parse(str(ids[4])) == ids[4]


def test_resuming_skips_what_was_seen_and_a_foreign_id_starts_over() -> None:
    failed = dataclasses.replace(QUEUED, status=GenerationStatus.FAILED, failure_reason="boom", job_state="FAILED")
    everything = events_after(failed, None)
    assert [event.name for event in everything] == ["status", "failed"]
    assert everything[-1].data["failureReason"] == "boom"
    assert events_after(failed, everything[0].id) == everything[1:]
    assert (
        EventId.parse("garbage") is None and EventId.parse("1.2") is None and EventId.parse("9" * 12 + ".0.0") is None
    )
