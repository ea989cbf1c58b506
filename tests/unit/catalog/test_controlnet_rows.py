"""`[[controlnet]]` and `[[depth_estimator]]` rows: the shipped ones parse, a bad kind is refused,
`models pull` fetches a ControlNet's config.json beside its weights so that the engine loads it,
and POST refuses guidance no installed ControlNet serves, naming the row to pull."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from sfumato.catalog import TINY_MODEL_ID, CatalogFormatError, ControlNetEntry, ModelCatalog
from sfumato.config import EngineSettings
from sfumato.engine import ControlGuide, Engine, pull_auxiliary
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.weights.tiny_guidance import build_tiny_controlnet
from sfumato.errors import GENERATION_ARGS_PATH, NotSupported
from tests.support.fake_hub import HUB_ENV, FakeHub
from tests.support.render_requests import tiny_render

ROW = {"id": "cn", "name": "CN", "repo": "me/cn", "file": "diffusion_pytorch_model.safetensors", "family": "sd15",
       "kind": "canny"}  # fmt: skip


def test_shipped_rows_serve_every_kind_of_sd15_and_have_a_depth_model() -> None:
    catalog = ModelCatalog.load()
    aux = AuxiliaryModels(catalog, Path("/nonexistent"), lambda: "cpu", 1)
    for kind in ("canny", "depth", "normal", "lineart", "sketch", "image"):
        served = aux.controlnet_entry("sd15", kind)
        assert served is not None and served.weights.builtin == "tiny-controlnet-sd15"  # nothing installed
    assert aux.controlnet_entry("sd2", "canny") is None
    assert {e.family for e in catalog.controlnets.values()} >= {"sd15", "sdxl", "flux"}
    assert "sfumato-tiny-depth" in catalog.depth_estimators and catalog.auxiliary("controlnet-sd15-canny")


def test_a_bad_kind_is_refused_naming_the_key() -> None:
    with pytest.raises(CatalogFormatError, match="'kind' must be one of"):
        ControlNetEntry.from_row({**ROW, "kind": "edges"}, where="row")


def test_pull_fetches_the_config_too_and_the_engine_loads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in HUB_ENV.items():
        monkeypatch.setenv(key, value)
    served = tmp_path / "repo"
    build_tiny_controlnet().save_pretrained(served)
    hub = FakeHub({"me/cn": served})
    url = hub.start()
    models = tmp_path / "models"
    entry = ControlNetEntry.from_row(ROW)
    try:
        pull_auxiliary(entry, models, endpoint=url)
    finally:
        hub.stop()
    assert (models / "me--cn" / "config.json").is_file() and entry.weights.is_installed(models)
    catalog = ModelCatalog(controlnets={entry.id: entry})
    aux = AuxiliaryModels(catalog, models, lambda: "cpu", 1)
    assert aux.controlnet_entry("sd15", "canny") is entry
    assert type(aux.controlnet(entry)).__name__ == "ControlNetModel"


def test_post_refuses_guides_no_installed_controlnet_serves(tmp_path: Path) -> None:
    catalog = ModelCatalog.load()
    engine = Engine(EngineSettings(device="cpu", torch_threads=1), tmp_path, catalog=catalog)
    guided = tiny_render(controls=(ControlGuide("canny", Image.new("RGB", (8, 8)), 1.0),))
    tiny = catalog.get(TINY_MODEL_ID)
    assert tiny is not None
    engine.check(tiny, guided)  # the built-in tiny ControlNet serves the built-in tiny model
    real = next(e for e in catalog.listed() if e.family == "sd15" and e.weights.builtin is None)
    with pytest.raises(NotSupported, match="sfumato models pull controlnet-sd15-canny") as refused:
        engine.check(real, guided)
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.controlnets"
    sd2 = next(e for e in catalog.listed() if e.family == "sd2")
    with pytest.raises(NotSupported, match=r"add a \[\[controlnet\]\] row"):
        engine.check(sd2, guided)
