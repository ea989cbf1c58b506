"""Leonardo's image-guidance table, strength bands and rules (`domain.guidance.resolve_guidance`)."""

from __future__ import annotations

import pytest

from sfumato.domain.guidance import ControlnetRef, ControlPlan, ReferencePlan, resolve_guidance
from sfumato.domain.image_inputs import ImageOrigin, ImageRef, SourceImages
from sfumato.errors import GENERATION_ARGS_PATH, ClientError


def ref(index: int, preprocessor: int | None, **fields: object) -> ControlnetRef:
    image = ImageRef(ImageOrigin.UPLOADED, f"img-{index}", f"controlnets[{index}].initImageId")
    return ControlnetRef(image, preprocessor, field=f"controlnets[{index}]", **fields)  # type: ignore[arg-type]


def resolve(
    *refs: ControlnetRef, sd_version: str = "v1_5", prompts: tuple[ImageRef, ...] = (), weight: float | None = None
) -> tuple[tuple[ControlPlan, ...], tuple[ReferencePlan, ...]]:
    guides = {r.image: f"key-{r.image.id}" for r in refs} | {p: f"key-{p.id}" for p in prompts}
    return resolve_guidance(refs, prompts, weight, sd_version, "Model M", SourceImages(guides=guides))


def refused(*refs: ControlnetRef, **options: object) -> ClientError:
    with pytest.raises(ClientError) as raised:
        resolve(*refs, **options)  # type: ignore[arg-type]
    return raised.value


@pytest.mark.parametrize(
    ("sd_version", "preprocessor", "kind"),
    [("v1_5", 1, "canny"), ("v1_5", 3, "depth"), ("v1_5", 6, "normal"), ("v1_5", 5, "lineart"), ("v1_5", 10, "sketch"),
     ("v1_5", 9, "image"), ("v1_5", 8, "image"), ("v1_5", 11, "image"), ("v2", 12, "canny"), ("v2", 15, "normal"),
     ("SDXL_1_0", 19, "canny"), ("SDXL_LIGHTNING", 20, "depth"), ("SDXL_0_9", 22, "image"), ("FLUX_DEV", 19, "canny")],
)  # fmt: skip
def test_controlnet_ids_by_base_model(sd_version: str, preprocessor: int, kind: str) -> None:
    controls, references = resolve(ref(0, preprocessor, weight=1.5), sd_version=sd_version)
    assert controls == (ControlPlan(kind, preprocessor, "key-img-0", 1.5),) and references == ()


@pytest.mark.parametrize(
    ("sd_version", "preprocessor", "kind"),
    [("SDXL_1_0", 67, "style"), ("SDXL_1_0", 133, "character"), ("SDXL_1_0", 100, "content"),
     ("PHOENIX", 166, "style"), ("PHOENIX", 397, "character"), ("FLUX", 364, "content")],
)  # fmt: skip
def test_reference_ids_become_ip_adapter_references(sd_version: str, preprocessor: int, kind: str) -> None:
    controls, references = resolve(ref(0, preprocessor, strength_type="High"), sd_version=sd_version)
    high = 1.66 if kind == "character" else 1.0  # the band's midpoint (Character Reference: its own bands)
    assert controls == () and references == (ReferencePlan(kind, "key-img-0", high, preprocessor),)


def test_an_id_the_model_cannot_take_is_refused_naming_it_and_the_model() -> None:
    error = refused(ref(0, 19))  # SDXL's canny on an SD 1.5 model
    assert error.path == f"{GENERATION_ARGS_PATH}.controlnets[0].preprocessorId"
    assert "preprocessorId 19" in error.message and "'Model M' (SD 1.5)" in error.message
    assert "1 (Edge to Image)" in error.message  # says what it takes
    assert "67" in refused(ref(0, 67), sd_version="v2").message  # no references on SD 2.1
    assert "its ids are none" in refused(ref(0, 1), sd_version="v3").message  # SD3: no column


def test_strength_bands_and_weights() -> None:
    mids = [resolve(ref(0, 1, strength_type=name))[0][0].weight for name in ("Low", "Mid", "High", "Ultra", "Max")]
    assert mids == [0.2, 0.6, 1.0, 1.4, 1.8]
    assert resolve(ref(0, 1))[0][0].weight == 0.6  # neither: Mid
    assert resolve(ref(0, 1, weight=0.0))[0][0].weight == 0.0
    assert refused(ref(0, 1, weight=2.5)).path.endswith("controlnets[0].weight")
    both = refused(ref(0, 1, weight=1.0, strength_type="Low"))
    assert both.path.endswith("controlnets[0].strengthType") and "not both" in both.message
    for preprocessor in (133, 100):  # Character and Content Reference: Low, Mid, High only
        assert "Low, Mid or High" in refused(ref(0, preprocessor, strength_type="Max"), sd_version="SDXL_1_0").message


def test_influence_shares_several_style_references() -> None:
    _, references = resolve(
        ref(0, 67, weight=1.0, influence=3.0), ref(1, 67, weight=1.0, influence=1.0), sd_version="SDXL_1_0"
    )
    assert [r.weight for r in references] == [1.5, 0.5]
    lone = refused(ref(0, 67, influence=1.0), sd_version="SDXL_1_0")
    assert lone.path.endswith("controlnets[0].influence") and "two or more" in lone.message
    assert refused(ref(0, 1, influence=1.0), ref(1, 1)).path.endswith("controlnets[0].influence")


def test_image_prompts_are_references_at_their_weight() -> None:
    prompts = (ImageRef(ImageOrigin.UPLOADED, "p", "imagePrompts[0]"),)
    assert resolve(prompts=prompts)[1] == (ReferencePlan("image", "key-p", 0.5),)
    assert resolve(prompts=prompts, weight=1.2)[1] == (ReferencePlan("image", "key-p", 1.2),)
    assert refused(weight=1.0).path.endswith("imagePromptWeight")  # no imagePrompts
    assert refused(prompts=prompts, weight=3.0).path.endswith("imagePromptWeight")


def test_legacy_kinds_take_the_models_column() -> None:
    legacy = ControlnetRef(ImageRef(ImageOrigin.GENERATED, "g", "init_generation_image_id"), None,
                           field="controlNetType", legacy_kind="depth")  # fmt: skip
    assert resolve(legacy)[0] == (ControlPlan("depth", 3, "key-g", 0.6),)
    assert resolve(legacy, sd_version="SDXL_1_0")[0][0].preprocessor_id == 20
    assert refused(legacy, sd_version="PHOENIX").path.endswith("controlNetType")
