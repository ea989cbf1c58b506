"""Idempotent creates: `Idempotency-Key` on a create route makes a client's retry safe.

The first request with a key claims it (a row per API key and key, inserted before the create runs,
so of two concurrent duplicates exactly one inserts); once its create succeeds the answer is stored
on the row, and every later request with that key and the same body (route + canonical JSON) gets
that answer, with the same generation id, for 24 hours, across restarts and processes. The same key
with another body is refused (422). A duplicate that arrives while the first still runs waits for
its answer; a create that fails frees the key, so a retry runs again. The database is the one place
this lives (docs/http.md "Idempotent creates").
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sfumato.errors import BadRequest, Conflict, IdempotencyKeyReused
from sfumato.store.repositories import utcnow
from sfumato.store.tables import IdempotencyKey

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
# How long a duplicate waits for the first request's answer; past it (a create still running, or a
# process that died mid-create) it is answered 409 and may retry.
WAIT_S = 30.0
POLL_S = 0.05
MAX_KEY_CHARS = 255


def fingerprint(route: str, body: Any) -> str:
    """What makes two requests "the same": the route and the body's JSON with sorted keys."""
    canonical = json.dumps([route, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class IdempotencyService:
    session_factory: sessionmaker[Session]
    wait_s: float = WAIT_S

    def run(
        self, api_key_id: str, key: str | None, route: str, body: Any, create: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """`create()`'s answer, run once per (API key, `key`) and replayed after; without a key, just run."""
        if key is None:
            return create()
        key = _checked(key)
        print_ = fingerprint(route, body)
        deadline = time.monotonic() + self.wait_s
        while True:
            stored = self._claim_or_read(api_key_id, key, print_)
            if stored is None:
                break  # ours to run
            if stored.fingerprint != print_:
                raise IdempotencyKeyReused(
                    f"this {HEADER} was used with another request body in the last 24 hours; use a new key"
                )
            if stored.response is not None:
                return stored.response
            if time.monotonic() >= deadline:
                raise Conflict(f"a request with this {HEADER} is still being processed; retry shortly")
            time.sleep(POLL_S)
        try:
            answer = create()
        except BaseException:
            self._forget(api_key_id, key)  # a failed create does not hold the key: a retry runs again
            raise
        self._keep(api_key_id, key, answer)
        return answer

    def _claim_or_read(self, api_key_id: str, key: str, print_: str) -> _Stored | None:
        """None when this request inserted the key (it runs the create); else the row as it stands."""
        now = utcnow()
        with self.session_factory() as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key, IdempotencyKey.expires_at <= now
                )
            )
            session.add(
                IdempotencyKey(
                    api_key_id=api_key_id,
                    key=key,
                    fingerprint=print_,
                    response=None,
                    created_at=now,
                    expires_at=now + TTL,
                )
            )
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
            row = session.execute(
                select(IdempotencyKey.fingerprint, IdempotencyKey.response).where(
                    IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
                )
            ).first()
            session.commit()
        if row is None:  # the first one failed and let go meanwhile: claim again
            return self._claim_or_read(api_key_id, key, print_)
        return _Stored(str(row[0]), row[1])

    def _keep(self, api_key_id: str, key: str, answer: dict[str, Any]) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key)
                .values(response=answer)
            )

    def _forget(self, api_key_id: str, key: str) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key)
            )


@dataclass(frozen=True)
class _Stored:
    fingerprint: str
    response: dict[str, Any] | None


def _checked(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise BadRequest(f"{HEADER} must be 1 to {MAX_KEY_CHARS} printable characters", "$.headers.idempotency-key")
    return key
