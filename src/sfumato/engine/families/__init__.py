"""The model families Sfumato runs, one `Family` class each (`base.py` says what a family holds).

`FAMILIES` is keyed by the catalog's `family` string and lists the families in detection order.
Adding a family = one class (in a module of its kind here), one instance below, catalog rows
(and a tiny model in `tests/support/tiny_families.py` to test it). A catalog row of an
unregistered family is refused at POST.

Importing this package loads neither torch nor diffusers (a unit test holds that line).
"""

from __future__ import annotations

from sfumato.engine.families.base import Family, FamilyDefaults, refuse
from sfumato.engine.families.flux import Flux, FluxKontext
from sfumato.engine.families.flux2 import Flux2, Flux2Klein
from sfumato.engine.families.ideogram import Ideogram4
from sfumato.engine.families.qwen_image import QwenImage, QwenImageEditPlus
from sfumato.engine.families.sd import SD2, SD15
from sfumato.engine.families.sd3 import SD3
from sfumato.engine.families.sdxl import SDXL, SDXLLightning
from sfumato.engine.families.z_image import ZImage

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        SD15(),
        SD2(),
        SDXL(),
        SDXLLightning(),
        SD3(),
        Flux(),
        FluxKontext(),
        Flux2(),
        Flux2Klein(),
        ZImage(),
        Ideogram4(),
        QwenImage(),
        QwenImageEditPlus(),
    )
}


def family_of(name: str, model_name: str | None = None) -> Family:
    """The family called `name`; a family Sfumato cannot run is a 400 on `modelId`."""
    family = FAMILIES.get(name)
    if family is None:
        model = f"model '{model_name}' is of family '{name}'" if model_name else f"model family '{name}'"
        raise refuse(
            "modelId",
            f"{model}, which this server cannot run yet (supported families: {', '.join(sorted(FAMILIES))})",
        )
    return family


__all__ = ["FAMILIES", "Family", "FamilyDefaults", "family_of"]
