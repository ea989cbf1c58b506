"""Keys verified moments ago, so a client polling `GET /generations/{id}` does not pay a database
round trip (a session, a query, an ORM row) on every request just to prove who it is.

Only successes are kept, keyed by the key's SHA-256 (never the secret itself), for `ttl_s`: a key
revoked through this process (`KeyService.revoke`) is forgotten at once; one revoked by another
process (`sfumato keys revoke` beside a running server) stops working within `ttl_s`. Unknown
and revoked secrets always go to the database, so a new key works at once and guessing learns
nothing from the cache. Bounded: past `max_entries` the oldest entry goes first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sfumato.domain.views import Principal

# How long a revoke from another process may go unnoticed here (docs/http.md, "The connection").
KEY_CACHE_TTL_S = 2.0
KEY_CACHE_MAX_ENTRIES = 10_000


@dataclass
class VerifiedKeys:
    ttl_s: float = KEY_CACHE_TTL_S
    max_entries: int = KEY_CACHE_MAX_ENTRIES
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[str, tuple[Principal, float]] = field(default_factory=OrderedDict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def get(self, key_hash: str) -> Principal | None:
        """The principal verified for this hash within `ttl_s`, else None (and the stale entry goes)."""
        with self._lock:
            entry = self._entries.get(key_hash)
            if entry is None:
                return None
            if self.clock() >= entry[1]:
                del self._entries[key_hash]
                return None
            return entry[0]

    def put(self, key_hash: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._entries[key_hash] = (principal, self.clock() + self.ttl_s)
            self._entries.move_to_end(key_hash)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key_ids: set[str]) -> None:
        """Drop every entry for these key ids (they were just revoked)."""
        with self._lock:
            for key_hash in [h for h, (p, _) in self._entries.items() if p.key_id in key_ids]:
                del self._entries[key_hash]

    def __len__(self) -> int:
        return len(self._entries)
