"""Absent weights in a server process: refuse at POST what cannot be downloaded now, and give
every job that needs a model one shared download of it.

At POST, `HubAccess.refusal` says why a download cannot start (disabled in settings, the hub
library in offline mode, or the hub not answering a quick probe); the request is then refused
with a 400 that names the model and `sfumato models pull`. Otherwise the generation is accepted
(PENDING). The worker that claims it asks `Engine.weights_ready`, which calls `WeightsFetcher.start`:
the first job starts the download in a background thread, and while it runs every job of that
model is parked (back in the queue, not claimable for a few seconds, the run not counted as an
attempt), so the worker thread goes on with other models' jobs. A job claimed after the download
ended takes in its outcome (`settled`): it renders, or that attempt fails with the download's
reason. The download belongs to the model, not to a job: it goes on when a waiting job goes away.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from sfumato.catalog import CatalogEntry
from sfumato.config import ModelSettings
from sfumato.engine.weights.hub import hub_endpoint, pull_model

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.5
PROBE_CACHE_S = 60.0
PROGRESS_LOG_INTERVAL_S = 10.0


class DownloadFailed(RuntimeError):
    """A model's download failed; the message names the model, the hub and the cause."""


@dataclass
class HubAccess:
    """Whether this process may fetch weights now; the hub probe's answer is cached a minute."""

    allow_downloads: bool
    endpoint: str
    probe_timeout_s: float = PROBE_TIMEOUT_S
    cache_s: float = PROBE_CACHE_S
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _probed: tuple[float, bool] | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> HubAccess:
        return cls(allow_downloads=settings.allow_downloads, endpoint=hub_endpoint(settings.hub_endpoint))

    def refusal(self) -> str | None:
        """Why a download cannot start now, or None when it can."""
        from huggingface_hub import constants

        if not self.allow_downloads:
            return "downloads are disabled on this server (setting allow_downloads)"
        if constants.HF_HUB_OFFLINE:
            return "the server runs with HF_HUB_OFFLINE set"
        if not self._reachable():
            return f"the model hub at {self.endpoint} is unreachable"
        return None

    def _reachable(self) -> bool:
        """Any HTTP answer from the endpoint counts; one probe at a time, shared by all callers."""
        with self._lock:
            now = time.monotonic()
            if self._probed is None or now - self._probed[0] >= self.cache_s:
                try:
                    httpx.head(self.endpoint, timeout=self.probe_timeout_s)
                    reachable = True
                except (httpx.HTTPError, httpx.InvalidURL) as error:
                    log.warning("model hub %s is unreachable: %s", self.endpoint, error)
                    reachable = False
                self._probed = (time.monotonic(), reachable)
            return self._probed[1]


def unavailable_message(entry: CatalogEntry, access: HubAccess | None) -> str | None:
    """The 400 for a request whose model is not installed, or None when it can be downloaded."""
    named = f"model '{entry.name}' ({entry.id or entry.face.sd_version})"
    if entry.weights.repo is None:
        return (
            f"{named} is served by {entry.weights.source}, which is not on this server. An operator can fix the "
            "catalog row or add a local model with `sfumato models add`; or use the built-in Sfumato Tiny "
            "model (see GET /platformModels)."
        )
    reason = "this server does not download weights" if access is None else access.refusal()
    if reason is None:
        return None
    return (
        f"{named} is served by {entry.weights.source}, whose weights are not installed on this server, and they "
        f"cannot be downloaded now: {reason}. An operator can install them with "
        f"`sfumato models pull {entry.id or entry.face.sd_version}` (needs internet), or use the built-in "
        "Sfumato Tiny model (see GET /platformModels)."
    )


@dataclass
class WeightsFetcher:
    """One download per model in this process (other processes wait on `pull_model`'s file lock)."""

    models_dir: Path
    access: HubAccess
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Running downloads, and ended ones until a job has taken in their outcome (`settled`).
    _downloads: dict[tuple[Path, Path | None], Future[None]] = field(default_factory=dict, repr=False)

    def start(self, entry: CatalogEntry) -> Future[None]:
        """The download of `entry`: the one running, or one that ended and nobody has looked at
        yet (see `settled`), else a new one. Never blocks: a worker parks its job and comes back."""
        key = self._key(entry)
        with self._lock:
            known = self._downloads.get(key)
            if known is not None:
                if not known.done():
                    log.info("waiting for the download of %s already running", entry.weights.source)
                return known
            download: Future[None] = Future()
            self._downloads[key] = download
        # A daemon thread, not an executor: shutdown must not wait for a multi-gigabyte transfer.
        threading.Thread(
            target=self._download, args=(entry, download), name=f"sfumato-download-{key[0].name}", daemon=True
        ).start()
        return download

    def settled(self, entry: CatalogEntry, download: Future[None]) -> None:
        """Take in a finished download's outcome: forget it (so the next `start` after a failure
        tries afresh) and raise DownloadFailed if it failed."""
        with self._lock:
            if self._downloads.get(self._key(entry)) is download:
                del self._downloads[self._key(entry)]
        download.result()

    def _key(self, entry: CatalogEntry) -> tuple[Path, Path | None]:
        return entry.weights.weights_dir(self.models_dir), entry.weights.unet_path(self.models_dir)

    def _download(self, entry: CatalogEntry, download: Future[None]) -> None:
        started = time.monotonic()
        log.info("downloading %s from %s for %s", entry.weights.source, self.access.endpoint, entry.name)
        try:
            pull_model(
                entry,
                self.models_dir,
                endpoint=self.access.endpoint,
                allow_downloads=self.access.allow_downloads,
                only_missing=True,
                tqdm_class=_logged_progress(entry.weights.source),
            )
        except Exception as error:
            log.exception("downloading %s failed", entry.weights.source)
            cause = " ".join(str(error).split())  # huggingface_hub's messages span lines; a failureReason is one
            where = f"downloading {entry.weights.source} from {self.access.endpoint}"
            download.set_exception(DownloadFailed(f"{where}: {type(error).__name__}: {cause}"))
            return
        log.info("downloaded %s in %.1f s", entry.weights.source, time.monotonic() - started)
        download.set_result(None)


def _logged_progress(label: str) -> type[tqdm]:
    """A tqdm class whose bars write a log line every few seconds, and once when complete,
    instead of drawing to a terminal (a server's output is a log)."""

    class LoggedProgress(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)  # huggingface_hub's own bar option
            self._logged_at = time.monotonic()  # the empty bar at the start is not worth a line
            self._done = False
            kwargs.update(file=io.StringIO(), disable=False)
            super().__init__(*args, **kwargs)

        def display(self, msg: str | None = None, pos: int | None = None) -> bool:
            now = time.monotonic()
            complete = bool(self.total) and self.n >= self.total
            if (complete and not self._done) or (not complete and now - self._logged_at >= PROGRESS_LOG_INTERVAL_S):
                self._logged_at, self._done = now, complete
                log.info("downloading %s: %s", label, self)
            return True

    return LoggedProgress
