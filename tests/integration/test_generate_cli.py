"""`sfumato generate` through the real CLI on a real data dir: it takes the worker's path (the
generation recorded in the store, its images stored there and copied out) and refuses, with exit 2
and one message, what cannot run here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sfumato.catalog import LEONARDO_DEFAULT_MODEL_ID
from tests.conftest import run_cli
from tests.support.models import broken_model_catalog

BROKEN_MODEL_ID = "0badbad0-0000-4000-8000-000000000001"

NAMES = ["Sfumato_Tiny_a_red_fox_0.png", "Sfumato_Tiny_a_red_fox_1.png"]


def generations(data_dir: Path) -> list[tuple[str, str, str | None, str, int]]:
    """(id, status, failure_reason, username, image rows) of every generation in the store."""
    if not (data_dir / "sfumato.db").exists():
        return []
    db = sqlite3.connect(f"file:{data_dir / 'sfumato.db'}?mode=ro", uri=True, timeout=30)
    try:
        query = (
            "SELECT g.id, g.status, g.failure_reason, u.username, "
            "(SELECT count(*) FROM generated_images i WHERE i.generation_id = g.id) "
            "FROM generations g JOIN users u ON u.id = g.user_id"
        )
        return [(str(a), str(b), c, str(d), int(e)) for a, b, c, d, e in db.execute(query)]
    finally:
        db.close()


def test_generate_records_the_generation_and_copies_its_stored_images_out(tmp_path: Path) -> None:
    data_dir, out = tmp_path / "data", tmp_path / "out"
    args = ["generate", "a red fox", "--width", "32", "--height", "32", "--steps", "10", "-n", "2", "--seed", "7"]
    result = run_cli(data_dir, *args, "--out", str(out))

    assert result.stdout.splitlines() == [str(out / name) for name in NAMES]
    [(generation_id, status, reason, username, images)] = generations(data_dir)
    assert (status, reason, username, images) == ("COMPLETE", None, "cli", 2)
    [stored] = (data_dir / "images" / "users").glob(f"*/generations/{generation_id}")
    assert sorted(p.name for p in stored.iterdir()) == NAMES
    for name in NAMES:
        copy = (out / name).read_bytes()
        assert copy.startswith(b"\x89PNG") and copy == (stored / name).read_bytes()


def test_generate_refuses_what_cannot_run_here_and_records_nothing(tmp_path: Path) -> None:
    refusals = [
        (["--model", "00000000-0000-4000-8000-000000000000"], "unknown model"),
        (["--model", LEONARDO_DEFAULT_MODEL_ID], f"run `sfumato models pull {LEONARDO_DEFAULT_MODEL_ID}`"),
        (["--steps", "5"], "num_inference_steps must be between 10 and 60"),
    ]
    for extra, message in refusals:
        result = run_cli(tmp_path, "generate", "a red fox", *extra, "--out", str(tmp_path / "out"), check=False)
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert message in " ".join(result.stderr.split())  # rich wraps long lines
        assert "Traceback" not in result.stderr
    assert generations(tmp_path) == []
    assert not (tmp_path / "out").exists()


def test_a_failing_generation_is_retried_like_the_workers_then_exits_1_with_its_reason(tmp_path: Path) -> None:
    catalog = broken_model_catalog(tmp_path, BROKEN_MODEL_ID)  # its weights fail to load on every run
    env = {"SFUMATO_CATALOG_FILE": str(catalog), "SFUMATO_JOB_MAX_ATTEMPTS": "2"}
    data_dir = tmp_path / "data"
    result = run_cli(data_dir, "generate", "a red fox", "--model", BROKEN_MODEL_ID, env=env, check=False)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    [(generation_id, status, reason, _username, images)] = generations(data_dir)
    assert (status, images) == ("FAILED", 0) and reason
    assert f"generation failed: {reason}" in result.stderr.splitlines()
    db = sqlite3.connect(f"file:{data_dir / 'sfumato.db'}?mode=ro", uri=True, timeout=30)
    try:
        attempts = db.execute("SELECT attempts FROM jobs WHERE generation_id = ?", (generation_id,)).fetchone()
    finally:
        db.close()
    assert attempts == (2,)  # every attempt used, as a worker would
