"""Where a model's weights are (`ModelSource`) and how each kind of source becomes a pipeline.

Three kinds, one function each, all offline (`local_files_only`; nothing here ever reaches a hub):

- a diffusers folder (`model_index.json` + one subfolder per component): `from_pretrained`;
- a single-file checkpoint in the original (LDM/BFL) layout: the family's pipeline class
  `.from_single_file(file, config=<diffusers folder>)`, the folder giving the configs, scheduler
  and tokenizers the file lacks (without it diffusers would fetch them from the hub);
- a base folder plus a replacement UNet file (a diffusers-format UNet state dict, as
  SDXL-Lightning ships): the UNet is built from the base's UNet config, filled from the file, and
  handed to `from_pretrained`, so the base's own UNet is never loaded.

Each loads the text-to-image pipeline; `derive_pipeline` makes a task's other pipelines from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfumato.catalog import DIFFUSERS_MARKER, CatalogEntry
from sfumato.engine.families import family_of

if TYPE_CHECKING:  # torch and diffusers load when a model does, not when a catalog row is read
    import torch
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline


class ModelSourceError(ValueError):
    """A source that cannot be loaded as given; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class ModelSource:
    """A model's local weights, resolved to paths: what the loader reads and the cache keys by.

    Exactly one of `folder` (optionally with `unet_file`) or `file` (with `config`) is set.
    `native_size` and `default_guidance` (the catalog row's) only shape a warm-up render; they
    are not part of the key.
    """

    family: str
    folder: Path | None = None
    file: Path | None = None
    config: Path | None = None
    unet_file: Path | None = None
    weights_variant: str | None = None  # e.g. "fp16": load `*.fp16.safetensors` (catalog `variant`)
    native_size: tuple[int, int] | None = field(default=None, compare=False)
    default_guidance: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if (self.folder is None) == (self.file is None):
            raise ValueError("a model source is either a folder or a single file")

    @classmethod
    def from_folder(cls, folder: Path, family: str = "sd15", unet_file: Path | None = None) -> ModelSource:
        """A diffusers folder, optionally with its UNet replaced by `unet_file`."""
        return cls(family, folder=Path(folder).resolve(), unet_file=Path(unet_file).resolve() if unet_file else None)

    @classmethod
    def from_file(cls, file: Path, family: str, config: Path | None) -> ModelSource:
        """A single-file checkpoint and the diffusers folder it borrows configs and tokenizers from."""
        return cls(family, file=Path(file).resolve(), config=Path(config).resolve() if config else None)

    @classmethod
    def from_entry(cls, entry: CatalogEntry, models_dir: Path) -> ModelSource:
        """Where a catalog row's weights are under `models_dir` (see WeightsSpec.weights_dir)."""
        weights = entry.weights.weights_dir(models_dir).resolve()
        config = entry.weights.config_dir(models_dir)
        unet = entry.weights.unet_path(models_dir)
        return cls(
            entry.family,
            folder=None if entry.weights.single_file else weights,
            file=weights if entry.weights.single_file else None,
            config=config.resolve() if config else None,
            unet_file=unet.resolve() if unet else None,
            weights_variant=entry.weights.variant,
            native_size=(entry.face.native_width, entry.face.native_height),
            default_guidance=entry.quality.default_guidance,
        )

    @property
    def key(self) -> str:
        """The cache key: every path that decides the weights (one base with two UNets is two models)."""
        if self.file is not None:
            return f"{self.file}?config={self.config}"
        key = str(self.folder) if self.unet_file is None else f"{self.folder}?unet={self.unet_file}"
        return key if self.weights_variant is None else f"{key}?variant={self.weights_variant}"


def load_pipeline(source: ModelSource, dtype: torch.dtype | None = None) -> DiffusionPipeline:
    """Load `source` on the CPU in `dtype` (None: float32, diffusers' default)."""
    if source.file is not None:
        return load_single_file(source.file, source.config, family_of(source.family).pipeline_class(), dtype)
    assert source.folder is not None
    if source.unet_file is not None:
        return load_folder_with_unet(source.folder, source.unet_file, dtype, source.weights_variant)
    # Components the family loads itself (FLUX.2 [dev]'s tokenizer): diffusers skips those passed as
    # None (it would check a passed one against the class the folder names, which may not import).
    own = family_of(source.family).folder_components(source.folder)
    pipe = load_folder(source.folder, dtype, source.weights_variant, **dict.fromkeys(own))
    if own:
        pipe.register_modules(**own)
    return pipe


def load_folder(
    folder: Path, dtype: torch.dtype | None = None, weights_variant: str | None = None, **components: Any
) -> DiffusionPipeline:
    """A diffusers folder; `components` (e.g. `unet=`) replace the folder's own, which are then not loaded."""
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline  # the real class, not the lazy dummy

    variant = {} if weights_variant is None else {"variant": weights_variant}
    return DiffusionPipeline.from_pretrained(
        str(folder), local_files_only=True, **_dtype_kwargs(dtype), **variant, **components
    )


def load_single_file(file: Path, config: Path | None, pipeline_class: Any, dtype: torch.dtype | None = None) -> Any:
    """An original-format checkpoint, converted by `pipeline_class` (the family's text-to-image
    pipeline) with `config`'s configs and tokenizers."""
    if config is None:
        raise ModelSourceError(
            f"single-file checkpoint {file} has no config folder: name a local diffusers folder of the same "
            "architecture in the catalog row's `config` (models load offline, so diffusers cannot fetch one)"
        )
    if not (config / DIFFUSERS_MARKER).is_file():
        # A string that is not a local folder would make diffusers treat it as a hub repo id and download.
        raise ModelSourceError(f"config folder {config} of {file} is not a diffusers folder (no {DIFFUSERS_MARKER})")
    if not file.is_file():
        raise ModelSourceError(f"single-file checkpoint {file} does not exist")
    return pipeline_class.from_single_file(str(file), config=str(config), local_files_only=True, **_dtype_kwargs(dtype))


def load_folder_with_unet(
    folder: Path, unet_file: Path, dtype: torch.dtype | None = None, weights_variant: str | None = None
) -> DiffusionPipeline:
    """The `folder` pipeline with its UNet built from `unet_file` (ByteDance's SDXL-Lightning recipe)."""
    import torch
    from accelerate import init_empty_weights
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from safetensors.torch import load_file

    if not unet_file.is_file():
        raise ModelSourceError(f"UNet file {unet_file} does not exist")
    config = UNet2DConditionModel.load_config(str(folder / "unet"), local_files_only=True)
    with init_empty_weights():  # parameters on the meta device: no random init of billions of weights
        unet = UNet2DConditionModel.from_config(config)
    try:
        unet.load_state_dict(load_file(str(unet_file)), strict=True, assign=True)
    except RuntimeError as error:
        raise ModelSourceError(f"{unet_file} does not fit the UNet of {folder}: {error}") from None
    unet.to(dtype or torch.float32).eval()  # as from_pretrained leaves its own modules (float32 by default)
    return load_folder(folder, dtype, weights_variant, unet=unet)


def derive_pipeline(base: DiffusionPipeline, pipeline_class: Any, **modules: Any) -> DiffusionPipeline:
    """`pipeline_class` (an image-to-image or inpaint pipeline) on `base`'s very modules: no weight
    is loaded or copied, so it costs no memory and is placed and sped up as `base` was.

    A concrete class's `from_pipe` casts every module (shared ones included) to float32 unless
    told a dtype, so it is told `base`'s own: the loaders give all modules one dtype, so the cast
    changes nothing. `base` itself serves when it already is of `pipeline_class` (Kontext edits
    with its text-to-image pipeline). `modules` are the ones the class adds (a `controlnet`).
    """
    if type(base) is pipeline_class and not modules:
        return base
    derived: DiffusionPipeline = pipeline_class.from_pipe(base, **modules, **_dtype_kwargs(base.dtype))
    return derived


def _dtype_kwargs(dtype: torch.dtype | None) -> dict[str, Any]:
    """Spell a dtype argument the way the installed diffusers wants it (nothing for the default).

    diffusers 0.42 deprecates `torch_dtype` for `dtype` and warns on it; older ones only know `torch_dtype`.
    """
    if dtype is None:
        return {}
    import diffusers
    from packaging.version import Version

    return {"dtype" if Version(diffusers.__version__).release >= (0, 42) else "torch_dtype": dtype}
