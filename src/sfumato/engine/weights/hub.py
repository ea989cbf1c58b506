"""Downloading a catalog model's weights from a Hugging Face-compatible hub.

`huggingface_hub` does the transfers: progress bars, retries, and resuming a file whose
connection drops mid-way with HTTP Range. This module adds what the catalog needs: only the
files a pipeline loads, a row's replacement UNet file, and `model_index.json` (the installed
marker) fetched last, so a model counts as installed only once every other file is complete.
One pull per model folder at a time, across threads and processes, through a file lock.
"""

from __future__ import annotations

import contextlib
import logging
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

from filelock import FileLock, Timeout

from sfumato.catalog import DIFFUSERS_MARKER, AuxEntry, CatalogEntry

log = logging.getLogger(__name__)

# The files a diffusers pipeline folder needs; skips duplicate formats (.bin, .ckpt, ONNX/Flax
# exports) so a pull fetches each weight once (`pipeline_files` picks one variant of each).
# `*.jinja`: the chat template transformers 5 saves beside a tokenizer, which the Qwen-encoded
# pipelines (Z-Image, Ideogram 4, FLUX.2) format every prompt with.
DIFFUSERS_PATTERNS = ["*.json", "*.txt", "*.model", "*.jinja", "*.safetensors"]
SKIPPED_PATTERNS = ["*onnx*", "*flax*", "*.msgpack", "*.bin", "*.ckpt"]
# Where huggingface_hub keeps a local_dir download's metadata, locks and temporary files.
HF_DOWNLOAD_STATE = Path(".cache") / "huggingface" / "download"
LOCKS_DIR = ".locks"


class DownloadsDisabled(RuntimeError):
    """Raised instead of touching the network when the caller has not allowed downloads."""


class NothingToPull(ValueError):
    """The entry is served from a local path or built in: there is no hub repo to fetch."""


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub URL a download goes to: `endpoint`, else `HF_ENDPOINT`, else huggingface.co."""
    from huggingface_hub import constants

    return (endpoint or constants.ENDPOINT).rstrip("/")


def pull_model(
    entry: CatalogEntry,
    models_dir: Path,
    revision: str | None = None,
    endpoint: str | None = None,
    *,
    allow_downloads: bool = True,
    only_missing: bool = False,
    tqdm_class: Any = None,
) -> Path:
    """Fetch `entry.weights.repo` (and its replacement UNet file, if any) and return the weights folder.

    `endpoint` overrides the hub URL (default: `HF_ENDPOINT`, else huggingface.co).
    `allow_downloads=False` raises DownloadsDisabled without any network traffic: a server
    process passes its `allow_downloads` setting here; the `models pull` command is itself the
    operator's consent. `only_missing` skips parts already installed (a server filling a gap);
    without it the whole model is checked against the hub again (an operator's re-pull).
    Safe to re-run: finished files are kept, so an interrupted pull picks up where it stopped.
    """
    weights = entry.weights
    if weights.repo is None:
        raise NothingToPull(f"{entry.name} is served from {weights.source}: nothing to download")
    if not allow_downloads:
        raise DownloadsDisabled(f"downloads are disabled; cannot fetch {weights.source} for {entry.name}")
    target = weights.weights_dir(models_dir)
    unet = weights.unet_path(models_dir)
    folders = sorted({target, *([unet.parent] if unet else [])})
    with contextlib.ExitStack() as held:
        for folder in folders:  # sorted: two pulls sharing folders take their locks in one order
            held.enter_context(_folder_lock(models_dir, folder))
        for folder in folders:
            _drop_orphaned_partials(folder)
        # The UNet file first: until it is there the row is not installed, and a failure here
        # leaves the base (which other rows may share) as it was.
        if unet is not None and weights.unet_repo and weights.unet_file and not (only_missing and unet.is_file()):
            _pull_file(weights.unet_repo, weights.unet_file, unet.parent, endpoint, tqdm_class)
        if not (only_missing and (target / DIFFUSERS_MARKER).is_file()):
            _pull_folder(weights.repo, target, revision or weights.revision, weights.variant, endpoint, tqdm_class)
    return target


def pull_auxiliary(
    entry: AuxEntry, models_dir: Path, revision: str | None = None, endpoint: str | None = None, tqdm_class: Any = None
) -> Path:
    """Fetch an auxiliary model's weights file (`repo` + `file`) and return where it lies.

    Like `pull_model`: under the folder's pull lock, resumable, the file moved into place only
    once complete (so `is_installed` never sees half of it). Only `models pull` calls it: an
    auxiliary model is never downloaded by a server.
    """
    weights = entry.weights
    if weights.repo is None or weights.file is None:
        raise NothingToPull(f"{entry.name} is served from {weights.source}: nothing to download")
    target = weights.location(models_dir)
    folder = models_dir / weights.repo.replace("/", "--")
    with _folder_lock(models_dir, folder):
        _drop_orphaned_partials(folder)
        # A model folder's configs first: the row is installed once its weights file is there.
        beside = PurePosixPath(weights.file).parent
        for name in (*(str(beside / companion) for companion in entry.COMPANIONS), weights.file):
            _pull_file(weights.repo, name, folder, endpoint, tqdm_class, revision or weights.revision)
    for repo, name in entry.extra_pulls():  # files from other folders or repos (an IP-Adapter's encoder)
        other = models_dir / repo.replace("/", "--")
        with _folder_lock(models_dir, other):
            _drop_orphaned_partials(other)
            own_revision = revision or weights.revision if repo == weights.repo else None
            _pull_file(repo, name, other, endpoint, tqdm_class, own_revision)
    return target


def _pull_file(
    repo: str, filename: str, folder: Path, endpoint: str | None, tqdm_class: Any, revision: str | None = None
) -> None:
    """One file of a repo into `folder` (huggingface_hub moves it into place only when complete)."""
    from huggingface_hub import hf_hub_download

    folder.mkdir(parents=True, exist_ok=True)
    hf_hub_download(
        repo_id=repo, filename=filename, revision=revision, local_dir=folder, endpoint=endpoint, tqdm_class=tqdm_class
    )


def _pull_folder(
    repo: str, target: Path, revision: str | None, variant: str | None, endpoint: str | None, tqdm_class: Any
) -> None:
    """A diffusers folder: the files the pipeline loads (see `pipeline_files`), then its marker last."""
    from huggingface_hub import HfApi, snapshot_download

    target.mkdir(parents=True, exist_ok=True)
    # Both passes fetch one commit, even if the branch moves in between.
    info = HfApi(endpoint=endpoint).model_info(repo, revision=revision)
    commit = info.sha or revision
    wanted = pipeline_files([sibling.rfilename for sibling in info.siblings or []], variant)
    # A re-pull (say, of a new revision) is unfinished until its own marker arrives.
    (target / DIFFUSERS_MARKER).unlink(missing_ok=True)
    common: dict[str, Any] = {"repo_id": repo, "revision": commit, "local_dir": target, "endpoint": endpoint}
    snapshot_download(**common, allow_patterns=wanted, tqdm_class=tqdm_class)
    snapshot_download(**common, allow_patterns=[DIFFUSERS_MARKER], tqdm_class=tqdm_class)
    if not (target / DIFFUSERS_MARKER).is_file():
        raise FileNotFoundError(f"{repo} has no {DIFFUSERS_MARKER}: it is not a diffusers pipeline repo")


def pipeline_files(repo_files: list[str], variant: str | None = None) -> list[str]:
    """The files of a diffusers repo a pipeline loads, each weight once, the marker left out.

    Configs, tokenizer files and safetensors weights; never pickles (.bin/.ckpt) or ONNX/Flax
    exports. Per folder, the `variant`'s weights (`x.fp16.safetensors`) where the folder has them,
    else its plain ones, which is what `from_pretrained(variant=...)` falls back to; without a
    variant, only plain weights (a repo's fp16 copies would double the download).
    """
    chosen = [
        name
        for name in repo_files
        if name != DIFFUSERS_MARKER
        and any(fnmatch(name, p) for p in DIFFUSERS_PATTERNS)
        and not any(fnmatch(name, p) for p in SKIPPED_PATTERNS)
        and not name.endswith(".safetensors")
    ]
    weights: dict[str, list[str]] = {}
    for name in repo_files:
        if name.endswith(".safetensors") and not any(fnmatch(name, p) for p in SKIPPED_PATTERNS):
            weights.setdefault(str(PurePosixPath(name).parent), []).append(name)
    for names in weights.values():
        variant_names = [n for n in names if variant and n.endswith(f".{variant}.safetensors")]
        chosen += variant_names or [n for n in names if _variant_of(n) is None]
    return sorted(chosen)


def _variant_of(name: str) -> str | None:
    """`fp16` for `unet/diffusion_pytorch_model.fp16.safetensors`; None for a plain weights file.

    Sharded files (`model-00001-of-00002.safetensors`) have dashes, not a second dot, so they are plain.
    """
    parts = PurePosixPath(name).name.split(".")
    return parts[-2] if len(parts) > 2 else None


@contextlib.contextmanager
def _folder_lock(models_dir: Path, folder: Path) -> Any:
    """Hold `folder`'s pull lock (a file under `<models>/.locks/`), saying so when we must wait."""
    lock = FileLock(models_dir / LOCKS_DIR / f"{folder.name}.lock")
    (models_dir / LOCKS_DIR).mkdir(parents=True, exist_ok=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another download into %s is running; waiting for it to finish", folder)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _drop_orphaned_partials(folder: Path) -> None:
    """Delete temporary files that killed pulls left behind (huggingface_hub 2.x never reuses them).

    huggingface_hub writes each file to a name unique to that download and removes it on any
    exception, but a killed process cannot: without this, every kill would leave up to a whole
    file's worth of disk behind. Runs under the folder's pull lock, so no pull of ours is writing.
    """
    state = folder / HF_DOWNLOAD_STATE
    if not state.is_dir():
        return
    partials = list(state.rglob("*.incomplete"))
    freed = 0
    for partial in partials:
        with contextlib.suppress(FileNotFoundError):
            freed += partial.stat().st_size
            partial.unlink()
    if partials:
        log.warning(
            "removed %d partial file(s) (%d bytes) left by an interrupted download in %s", len(partials), freed, folder
        )
