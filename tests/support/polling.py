"""The one way tests wait for something: poll with a deadline, so a wait that never ends fails
with a message instead of hanging the suite."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(predicate: Callable[[], T], timeout_s: float, interval_s: float, message: str) -> T:
    """Call `predicate` every `interval_s` until it returns something truthy, and return that;
    raise AssertionError(message) once `timeout_s` has passed without it."""
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (not within {timeout_s:g} s)")
        time.sleep(interval_s)
    return result
