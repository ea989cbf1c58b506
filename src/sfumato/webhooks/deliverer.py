"""`WebhookDeliverer`: a background thread that POSTs due outbox rows.

All state lives in the rows (state, attempts, next_attempt_at), so a restart loses nothing
and several server processes can share one database: each attempt is taken with a
compare-and-set update before it is sent, so no two processes send the same attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from sfumato import __version__
from sfumato.store.repositories import utcnow
from sfumato.store.tables import ApiKey, WebhookDelivery
from sfumato.webhooks.backoff import retry_delay_s
from sfumato.webhooks.outbox import DeliveryState, claim, due_deliveries, record_attempt
from sfumato.webhooks.signing import sign

log = logging.getLogger(__name__)

USER_AGENT = f"Sfumato/{__version__}"
BATCH = 20


@dataclass(frozen=True)
class Outcome:
    state: DeliveryState
    status_code: int | None
    error: str | None
    retry_in_s: float | None = None


@dataclass
class WebhookDeliverer:
    session_factory: sessionmaker[Session]
    poll_interval_s: float = 1.0
    backoff_scale: float = 1.0
    timeout_s: float = 15.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    @property
    def lease_s(self) -> float:
        """How long a claimed attempt stays hidden from other deliverers: longer than any send."""
        return self.timeout_s + 60

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="webhook-deliverer", daemon=True)
            self._thread.start()

    def notify(self) -> None:
        """Look for due rows now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.timeout_s + 5)
            self._thread = None

    def _loop(self) -> None:
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    sent = self.run_once(client)
                except Exception:  # the database may be briefly unavailable; keep polling
                    log.exception("webhook delivery pass failed")
                    sent = 0
                if sent == 0:
                    self._wake.wait(self.poll_interval_s)
                    self._wake.clear()

    def run_once(self, client: httpx.Client) -> int:
        """Send every delivery due now (that we manage to claim); returns how many were tried."""
        with self.session_factory() as session:
            due = due_deliveries(session, utcnow(), BATCH)
        tried = 0
        for delivery in due:
            if self._stop.is_set():
                break
            with self.session_factory() as session, session.begin():
                if not claim(session, delivery, utcnow(), self.lease_s):
                    continue  # another deliverer took it
            self._attempt(client, delivery)
            tried += 1
        return tried

    def _attempt(self, client: httpx.Client, delivery: WebhookDelivery) -> None:
        with self.session_factory() as session:
            key = session.get(ApiKey, delivery.api_key_id) if delivery.api_key_id else None
            secret = key.webhook_secret if key else None
            bearer = key.webhook_api_key if key else None
        started = utcnow()
        clock = time.monotonic()
        outcome = self._send(client, delivery, secret, bearer)
        duration_ms = int((time.monotonic() - clock) * 1000)
        retry_in = outcome.retry_in_s
        with self.session_factory() as session, session.begin():
            record_attempt(
                session,
                delivery.id,
                delivery.attempts,
                attempted_at=started,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=duration_ms,
                state=outcome.state,
                next_attempt_at=utcnow() + timedelta(seconds=retry_in or 0),
            )
        log.info(
            "webhook %s attempt %d -> %s (%s)",
            delivery.id,
            delivery.attempts + 1,
            outcome.status_code or outcome.error,
            outcome.state,
        )

    def _send(self, client: httpx.Client, delivery: WebhookDelivery, secret: str | None, bearer: str | None) -> Outcome:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
        }
        if secret:
            headers["webhook-signature"] = sign(secret, delivery.id, timestamp, delivery.body)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = client.post(delivery.url, content=delivery.body.encode(), headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            return Outcome(DeliveryState.FAILED, None, f"{type(error).__name__}: {error}")
        except httpx.HTTPError as error:
            return self._retry_or_give_up(delivery, None, f"{type(error).__name__}: {error}")
        if response.is_success:
            return Outcome(DeliveryState.DELIVERED, response.status_code, None)
        if response.status_code == 410:  # the receiver says the endpoint is gone for good
            return Outcome(DeliveryState.GAVE_UP, 410, None)
        return self._retry_or_give_up(delivery, response.status_code, None)

    def _retry_or_give_up(self, delivery: WebhookDelivery, status: int | None, error: str | None) -> Outcome:
        failed = delivery.attempts + 1 - delivery.schedule_base
        delay = retry_delay_s(failed, self.backoff_scale)
        if delay is None:
            return Outcome(DeliveryState.GAVE_UP, status, error)
        return Outcome(DeliveryState.PENDING, status, error, retry_in_s=delay)
