"""The init-image upload flow through the official npm SDK (`@leonardo-ai/sdk`, zod-validated, strict
about every field's type) and Node.js' own fetch + FormData, against the real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import Server
from tests.support.images import decoded, image_bytes, picture
from tests.support.npm import run_script

# Embedded-only: asserts the local store's /uploads form and /files URLs (S3 uploads: test_s3_storage).


def test_npm_sdk_uploads_reads_and_deletes_init_images(server: Server, tmp_path: Path) -> None:
    key = server.create_key("npm-upload")
    image, mask = tmp_path / "init.png", tmp_path / "mask.png"
    image.write_bytes(image_bytes("PNG"))
    mask.write_bytes(image_bytes("PNG", mode="L"))
    env = {
        "SFUMATO_API_URL": server.api_url,
        "SFUMATO_API_KEY": key["apiKey"],
        "SFUMATO_IMAGE_PATH": str(image),
        "SFUMATO_MASK_PATH": str(mask),
    }
    result = run_script("upload.mjs", env)
    assert result.returncode == 0, f"the npm SDK upload flow failed (exit {result.returncode}):\n{result.stderr}"
    summary = json.loads(result.stdout.strip().splitlines()[-1])

    assert summary["ok"] is True
    assert summary["uploadUrl"] == f"{server.base_url}/uploads"
    assert summary["key"] == f"users/{key['userId']}/initImages/{summary['id']}.png"
    assert summary["url"] == summary["urlBeforeUpload"] == f"{server.base_url}/files/{summary['key']}"
    assert summary["servedType"] == "image/png" and summary["servedBytes"] > 0
    assert summary["reusedStatus"] == 403
    assert summary["deletedId"] == summary["id"] and summary["afterDelete"] is None
    assert summary["canvas"]["initKey"].endswith(f"{summary['canvas']['initImageId']}.png")
    assert summary["canvas"]["maskKey"].endswith(f"{summary['canvas']['maskImageId']}.png")

    # What Node.js uploaded is what is served: the mask, read back here, is the grey picture it sent.
    served_mask = decoded(httpx.get(summary["maskUrl"]).content)
    assert served_mask.mode == "L" and served_mask.size == picture().size
    assert served_mask.tobytes() == picture().convert("L").tobytes()
    assert httpx.get(summary["url"]).status_code == 404  # deleted with its init image
