"""The retry schedule: how long to wait after each failed attempt before the next.

Ten attempts in all: the first at once, then after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h,
3 h, 6 h and 14 h, so the last one is ~24.7 h after the first (more with jitter). Jitter only
ever adds (up to 10 %), so receivers that share an outage do not retry in lockstep and the
schedule never gets shorter than documented.
"""

from __future__ import annotations

import random

SCHEDULE_S: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 14 * 3600)
MAX_ATTEMPTS = len(SCHEDULE_S) + 1
JITTER = 0.1


def retry_delay_s(failed_attempts: int, scale: float = 1.0, rng: random.Random | None = None) -> float | None:
    """Seconds to wait after the `failed_attempts`-th failure, or None: give up.

    `scale` (setting `webhook_backoff_scale`) multiplies every delay so tests run in seconds.
    """
    if failed_attempts < 1 or failed_attempts > len(SCHEDULE_S):
        return None
    base = SCHEDULE_S[failed_attempts - 1] * scale
    return base * (1 + JITTER * (rng or random).random())
