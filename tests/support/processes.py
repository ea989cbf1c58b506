"""Processes seen through /proc (Linux), as an operator sees them with `ps`: a server's worker child,
whether a process still runs or has loaded torch, and a crash of a server with its worker."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (none once it is gone)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):  # the thread or the process just ended
            continue
    return [child for child in found if alive(child)]


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an orphan nobody has reaped yet has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def loaded_torch(pid: int) -> bool:
    """Whether the process has mapped torch's native library (what importing torch does)."""
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def crash(pid: int) -> None:
    """SIGKILL a server and its worker child at once, as a power cut or an OOM kill of the whole
    container would: the child (a session of its own) gets no chance to hand its jobs back. The
    server is stopped first so that it cannot start a new child in between."""
    os.kill(pid, signal.SIGSTOP)
    for child in children(pid):
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
