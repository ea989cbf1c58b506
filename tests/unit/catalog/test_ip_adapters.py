"""`[[ip_adapter]]` rows: parsing, where the adapter and its encoder lie, installed only with both,
and `models pull` fetching the encoder from its own repo (a fake hub on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfumato.catalog import CatalogFormatError, IpAdapterEntry, ModelCatalog
from sfumato.engine import pull_auxiliary
from tests.support.fake_hub import HUB_ENV, FakeHub

ROW = {"id": "a", "name": "A", "family": "flux", "repo": "xl/ip", "file": "ip_adapter.safetensors",
       "image_encoder": "", "image_encoder_repo": "openai/clip"}  # fmt: skip


def test_the_shipped_rows_load_and_the_built_in_one_serves_sd15() -> None:
    rows = ModelCatalog.load().ip_adapters
    assert rows["sfumato-tiny-ip-adapter"].weights.builtin == "tiny-ip-adapter"
    assert rows["ip-adapter-plus-face-sdxl"].kinds == ("character",)
    assert rows["ip-adapter-sd15"].kinds == ("style", "character", "content", "image")
    assert {row.family for row in rows.values()} == {"sd15", "sdxl", "flux"}


def test_locations_and_installed_need_both_the_adapter_and_its_encoder(tmp_path: Path) -> None:
    entry = IpAdapterEntry.from_row(ROW)
    assert entry.weights_file(tmp_path) == tmp_path / "xl--ip" / "ip_adapter.safetensors"
    assert entry.encoder_folder(tmp_path) == tmp_path / "openai--clip"
    assert entry.extra_pulls() == (("openai/clip", "config.json"), ("openai/clip", "model.safetensors"))
    entry.weights_file(tmp_path).parent.mkdir(parents=True)
    entry.weights_file(tmp_path).write_bytes(b"x")
    assert not entry.is_installed(tmp_path)
    (tmp_path / "openai--clip").mkdir()
    for name in ("config.json", "model.safetensors"):
        (tmp_path / "openai--clip" / name).write_text("{}")
    assert entry.is_installed(tmp_path)


@pytest.mark.parametrize(
    ("change", "words"),
    [({"kinds": ["face"]}, "'kinds' must be"), ({"family": ""}, "'family' must be"), ({"colour": 1}, "unknown key")],
)
def test_bad_rows_are_refused_naming_the_key(change: dict[str, object], words: str) -> None:
    with pytest.raises(CatalogFormatError, match=words):
        IpAdapterEntry.from_row({**ROW, **change}, where="row")


def test_pull_fetches_the_adapter_and_the_encoder_from_its_own_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in HUB_ENV.items():
        monkeypatch.setenv(key, value)
    adapter_repo, encoder_repo = tmp_path / "adapter", tmp_path / "encoder"
    adapter_repo.mkdir()
    encoder_repo.mkdir()
    (adapter_repo / "ip_adapter.safetensors").write_bytes(b"weights")
    (encoder_repo / "config.json").write_text("{}")
    (encoder_repo / "model.safetensors").write_bytes(b"encoder")
    hub = FakeHub({"xl/ip": adapter_repo, "openai/clip": encoder_repo})
    url = hub.start()
    models = tmp_path / "models"
    entry = IpAdapterEntry.from_row(ROW)
    try:
        pull_auxiliary(entry, models, endpoint=url)
    finally:
        hub.stop()
    assert entry.weights_file(models).read_bytes() == b"weights"
    assert (entry.encoder_folder(models) / "model.safetensors").read_bytes() == b"encoder"
    assert entry.is_installed(models)
