"""Downloading a catalog model's diffusers folder from a Hugging Face-compatible hub.

`huggingface_hub.snapshot_download` does the transfer: tqdm progress, retries, and resuming a
file whose connection drops mid-way with HTTP Range. This module adds what the catalog needs:
only the files a pipeline loads, and `model_index.json` (the installed marker) fetched last, so
a model counts as installed only once every other file is complete.
"""

from __future__ import annotations

from pathlib import Path

from sfumato.engine.catalog import DIFFUSERS_MARKER, CatalogEntry

# The files a diffusers pipeline folder needs; skips duplicate formats (.bin, .ckpt, fp16
# copies, ONNX/Flax exports) so a pull fetches each weight once.
DIFFUSERS_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
SKIPPED_PATTERNS = ["*.fp16.safetensors", "*onnx*", "*flax*", "*.msgpack", "*.bin", "*.ckpt"]


class DownloadsDisabled(RuntimeError):
    """Raised instead of touching the network when the caller has not allowed downloads."""


class NothingToPull(ValueError):
    """The entry is served from a local path or built in: there is no hub repo to fetch."""


def pull_model(
    entry: CatalogEntry,
    models_dir: Path,
    revision: str | None = None,
    endpoint: str | None = None,
    *,
    allow_downloads: bool = True,
) -> Path:
    """Fetch `entry.repo` into its weights folder and return the folder.

    `endpoint` overrides the hub URL (default: `HF_ENDPOINT`, else huggingface.co).
    `allow_downloads=False` raises DownloadsDisabled without any network traffic: a server
    process passes its `allow_downloads` setting here; the `models pull` command is itself the
    operator's consent. Safe to re-run: finished files are kept, so an interrupted pull resumes.
    """
    from huggingface_hub import HfApi, snapshot_download

    if entry.repo is None:
        raise NothingToPull(f"{entry.name} is served from {entry.source}: nothing to download")
    if not allow_downloads:
        raise DownloadsDisabled(f"downloads are disabled; cannot fetch {entry.repo} for {entry.name}")
    target = entry.weights_dir(models_dir)
    target.mkdir(parents=True, exist_ok=True)
    # A re-pull (say, of a new revision) is unfinished until its own marker arrives.
    (target / DIFFUSERS_MARKER).unlink(missing_ok=True)
    # Both passes fetch one commit, even if the branch moves in between.
    commit = HfApi(endpoint=endpoint).repo_info(entry.repo, revision=revision).sha or revision
    snapshot_download(
        repo_id=entry.repo,
        revision=commit,
        local_dir=target,
        endpoint=endpoint,
        allow_patterns=DIFFUSERS_PATTERNS,
        ignore_patterns=[*SKIPPED_PATTERNS, DIFFUSERS_MARKER],
    )
    snapshot_download(
        repo_id=entry.repo, revision=commit, local_dir=target, endpoint=endpoint, allow_patterns=[DIFFUSERS_MARKER]
    )
    if not (target / DIFFUSERS_MARKER).is_file():
        raise FileNotFoundError(f"{entry.repo} has no {DIFFUSERS_MARKER}: it is not a diffusers pipeline repo")
    return target
