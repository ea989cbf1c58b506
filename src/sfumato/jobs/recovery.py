"""Crash recovery, one named function every worker kind runs at start and then periodically:
RUNNING jobs whose worker died go back to QUEUED (at once when the lease owner was a process on this
host that is gone, otherwise when the lease lapses, `SFUMATO_JOB_LEASE_S`); a job out of attempts
ends FAILED. Sweeps in several processes at once are safe: every move is a compare-and-set.
"""

from __future__ import annotations

import logging
import os
import socket

from sfumato.jobs.queue import requeue_lapsed_jobs, running_lease_owners
from sfumato.jobs.runner import JobContext, fail_job

log = logging.getLogger(__name__)


def owner_is_dead(owner: str, me: str) -> bool:
    """True only for a lease owner (`host:pid:token`) that was a process on this host and is gone.

    Owners on other hosts, or whose pid still exists (even a reused one), are left to the lease.
    Our own pid with another token than `me` is a previous life of this process (pid 1 in a container).
    """
    host, pid_text, _token = [*owner.rsplit(":", 2), "", ""][:3]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner != me
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_lost_jobs(ctx: JobContext, me: str) -> list[str]:
    """Re-queue jobs whose worker died and end FAILED those that used every attempt; the ids re-queued."""
    with ctx.session_factory() as session:
        dead = {owner for owner in running_lease_owners(session) if owner_is_dead(owner, me)}
        lapsed = requeue_lapsed_jobs(session, ctx.max_attempts, dead)
    if lapsed.requeued:
        log.warning("re-queued %d job(s) whose worker died", len(lapsed.requeued))
    for job_id, attempts in lapsed.exhausted:
        log.warning("job %s failed: its worker died %d times", job_id, attempts)
        fail_job(ctx, job_id, f"worker died {attempts} times")
    return lapsed.requeued
