"""Celery as the carrier of work (`SFUMATO_QUEUE=celery`): one task per job, on its model's queue.

A message carries only the job id, under one stable task name; the database's lease decides who runs
the job, so a duplicate, a redelivery or a message for a deleted job does no harm. Every reliability
option is set here, in `celery_app`, and nowhere else. Celery is imported only in this mode.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from celery import Celery

from sfumato.config import QueueSettings
from sfumato.jobs.dispatch import QueuedJob

log = logging.getLogger(__name__)

TASK_NAME = "sfumato.run_job"
DEFAULT_QUEUE = "default"


def celery_app(settings: QueueSettings) -> Celery:
    """The Celery app every process of this deployment builds alike."""
    app = Celery("sfumato", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        # Acknowledge after the run, one message reserved per free slot: a worker that dies mid-run
        # leaves its message to the broker (RabbitMQ re-queues it at once, Redis after the visibility
        # timeout), and a long render never holds a second message hostage.
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        # A SIGKILLed pool child's message is re-queued, not acked and lost.
        task_reject_on_worker_lost=True,
        # A task that raised is acknowledged: the job's own failure is already recorded in the database.
        task_acks_on_failure_or_timeout=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=f"{settings.namespace}.{DEFAULT_QUEUE}",
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        # Redis: redeliver an unacked message only after this long (above the longest render); RabbitMQ:
        # confirmed publishes, so `send_task` returning means the broker has the message.
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s, "confirm_publish": True},
        # A POST never waits long on a broker that is down: the sweep sends the job again later.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


@dataclass
class CeleryQueue:
    """The API's and the workers' side of the broker: send, revoke, and count what waits."""

    app: Celery
    namespace: str = "sfumato"  # SFUMATO_QUEUE_NAMESPACE: deployments sharing a broker keep apart

    def name(self, model_id: str | None) -> str:
        """A model's queue, so a worker keeps its models hot; rows without an id share the default one."""
        return f"{self.namespace}.{model_id or DEFAULT_QUEUE}"

    def submitted(self, job: QueuedJob) -> None:
        self.send(job.job_id, job.model_id)

    def send(self, job_id: str, model_id: str | None, countdown_s: float | None = None) -> bool:
        """Publish the job's message (its task id is the job id), to be run no sooner than `countdown_s`
        from now when given; False, logged, if the broker refused."""
        try:
            self.app.send_task(
                TASK_NAME, args=[job_id], task_id=job_id, queue=self.name(model_id), countdown=countdown_s
            )
        except Exception:  # the job is committed QUEUED: a worker's sweep sends it again later
            log.warning("could not send job %s to the broker; a worker's sweep will", job_id, exc_info=True)
            return False
        return True

    def deleted(self, generation_id: str, job_ids: Sequence[str]) -> None:
        """Revoke the jobs' messages (a queued one is dropped on arrival); a running pipeline stops at
        its next step once its worker reads that the job is gone (within about a second)."""
        if not job_ids:
            return
        try:
            self.app.control.revoke(list(job_ids))
        except Exception:
            log.warning("could not revoke the tasks of generation %s", generation_id, exc_info=True)

    def waiting(self, model_id: str | None) -> int | None:
        """Messages ready in the model's queue (not those reserved by workers); None if unknown."""
        try:
            with self.app.connection_for_read() as connection:
                channel = connection.channel()
                try:
                    return int(channel.queue_declare(queue=self.name(model_id), passive=True).message_count)
                finally:
                    channel.close()
        except Exception:  # no such queue yet (nothing declared it), or the broker is away
            log.debug("could not count queue %s", self.name(model_id), exc_info=True)
            return None

    def purge(self, model_ids: Sequence[str | None]) -> int:
        """Drop every waiting message of these models' queues (an operator's reset; the chaos test's
        stand-in for a broker that forgot); the jobs stay QUEUED in the database and are sent again."""
        dropped = 0
        with self.app.connection_for_write() as connection:
            channel = connection.channel()
            try:
                for model_id in model_ids:
                    try:
                        dropped += int(channel.queue_purge(self.name(model_id)) or 0)
                    except Exception:
                        channel.close()
                        channel = connection.channel()
            finally:
                channel.close()
        return dropped
