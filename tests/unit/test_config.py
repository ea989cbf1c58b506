"""Settings: grouped by concern in code, one flat name per setting outside (env, flat TOML, arguments)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from sfumato.config import FLAT_NAMES, Settings, env_name


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SFUMATO_"):
            monkeypatch.delenv(name)


def test_flat_environment_names_land_in_their_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFUMATO_WORKER_THREADS", "0")
    monkeypatch.setenv("SFUMATO_JOB_LEASE_S", "42")
    monkeypatch.setenv("SFUMATO_WEBHOOK_TIMEOUT_S", "3.5")
    monkeypatch.setenv("sfumato_device", "cpu")  # any case, as before the grouping
    monkeypatch.setenv("SFUMATO_PRICE_IMAGE_BASE", "2")
    settings = Settings()
    assert settings.jobs.worker_threads == 0 and settings.jobs.lease_s == 42.0
    assert settings.webhooks.timeout_s == 3.5 and settings.engine.device == "cpu"
    assert settings.prices.image_base == 2.0


def test_toml_takes_flat_keys_and_group_tables_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "sfumato.toml"
    config.write_text(
        'port = 9001\nkey_queue_cap = 7\n[jobs]\nlease_s = 30\nmax_attempts = 5\n[engine]\ndtype = "float32"\n'
    )
    monkeypatch.setenv("SFUMATO_CONFIG_FILE", str(config))
    monkeypatch.setenv("SFUMATO_JOB_MAX_ATTEMPTS", "2")
    settings = Settings()
    assert settings.server.port == 9001 and settings.limits.queue_cap == 7
    assert settings.jobs.lease_s == 30.0 and settings.engine.dtype == "float32"
    assert settings.jobs.max_attempts == 2  # the flat variable beats the file's grouped key


def test_arguments_beat_the_environment_in_either_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFUMATO_JOB_LEASE_S", "7")
    monkeypatch.setenv("SFUMATO_WORKER_THREADS", "0")
    grouped = Settings(jobs={"lease_s": 3})
    assert grouped.jobs.lease_s == 3.0 and grouped.jobs.worker_threads == 0  # the rest of the group kept
    assert Settings(job_lease_s=4).jobs.lease_s == 4.0


@pytest.mark.parametrize("given", [{"bogus": 1}, {"jobs": {"bogus": 1}}])
def test_an_unknown_setting_is_refused(given: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="bogus"):
        Settings(**given)


def test_a_bad_value_is_reported_under_its_environment_variable() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(job_lease_s=-1)
    assert [env_name(problem["loc"]) for problem in raised.value.errors()] == ["SFUMATO_JOB_LEASE_S"]
    assert env_name(("data_dir",)) == "SFUMATO_DATA_DIR"


def test_every_grouped_field_has_one_flat_name() -> None:
    """Flat names are unique across groups (else one variable would set two settings)."""
    grouped = [target for target in FLAT_NAMES.values() if target[0] is not None]
    fields = [
        (group, field)
        for group, info in Settings.model_fields.items()
        if group != "data_dir"
        for field in info.annotation.model_fields  # type: ignore[union-attr]
    ]
    assert sorted(grouped) == sorted(fields)
