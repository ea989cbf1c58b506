"""Image storage behind one small protocol, so S3 is a setting, not a rewrite (`storage/s3.py`).

Keys are relative POSIX paths like `users/<userId>/generations/<genId>/<name>.png`,
mirroring Leonardo's CDN layout. The local store keeps them under a directory and the API
serves them at `/files/<key>` (unguessable UUIDs in the path, no auth, as Leonardo's CDN).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError when the key holds nothing."""
        ...

    def size(self, key: str) -> int | None:
        """The stored byte count without reading the bytes; None when the key holds nothing."""
        ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> None: ...

    def url(self, key: str, base_url: str) -> str:
        """Where a client downloads `key`: the one place image URLs are made. `base_url` is the
        API's own (a request's, or the configured public URL), for a store the API serves."""
        ...


class LocalBlobStore:
    """Files under `root`; writes are atomic (temp file + rename) so readers never see
    half an image."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_for(self, key: str) -> Path:
        """The file for a key, refusing keys that would escape the root, by `..` or by a symlink
        inside the root that points out of it (resolved first, then checked)."""
        relative = PurePosixPath(key)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"invalid blob key {key!r}")
        try:
            path = self.root.joinpath(*relative.parts).resolve()
        except OSError as error:  # a name too long, a symlink loop
            raise ValueError(f"invalid blob key {key[:100]!r}: {error.strerror}") from None
        if not path.is_relative_to(self.root):
            raise ValueError(f"blob key {key[:100]!r} leads out of the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)

    def get(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def size(self, key: str) -> int | None:
        path = self.path_for(key)
        return path.stat().st_size if path.is_file() else None

    def url(self, key: str, base_url: str) -> str:
        """Served by the API at `/files/<key>`."""
        return f"{base_url.rstrip('/')}/files/{key}"

    def delete(self, key: str) -> None:
        """One file; already gone is fine (deleting is idempotent)."""
        self.path_for(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.path_for(prefix), ignore_errors=True)
