"""Auxiliary models: the networks a generation or a variation uses beside its diffusion model.

Each kind has its own table (`[[upscaler]]`, `[[background_remover]]`) and entry type: a face
(`id`, `name`, `description`), where the weights are (`AuxWeights`) and the kind's own fields
(an upscaler's native scale; what a background remover's network expects as input). A row is
flat key = value lines like a `[[model]]` row, and an unknown key is refused, naming the row.

Real rows whose weights are absent are listed, not used: the engine takes the first installed
real row of a kind, else the kind's built-in tiny random-weight stand-in.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from sfumato.catalog.entries import CatalogFormatError

# A built-in auxiliary model is complete once this file (written last by its build) is in its folder.
BUILTIN_MARKER = "sfumato_tiny.json"


@dataclass(frozen=True)
class AuxFace:
    """What `sfumato models list` shows of an auxiliary model; `id` is what `models pull` takes."""

    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class AuxWeights:
    """One of: `repo` + `file` (a single weights file in a Hugging Face repo, pulled to
    `<models>/<owner>--<name>/<file>`), `path` (a local weights file, absolute or under the
    models dir), or `builtin` (built offline on first use into `<models>/sfumato-<builtin>`)."""

    repo: str | None = None
    revision: str | None = None
    file: str | None = None
    path: str | None = None
    builtin: str | None = None

    def __post_init__(self) -> None:
        named = [key for key in ("repo", "path", "builtin") if getattr(self, key) is not None]
        if len(named) != 1:
            raise CatalogFormatError(f"needs exactly one of 'repo', 'path' or 'builtin' (got {named or 'none'})")
        if (self.repo is None) != (self.file is None):
            raise CatalogFormatError("'repo' and 'file' go together: the weights file to pull from the repo")

    @property
    def source(self) -> str:
        """Human name of where the weights come from, for messages and listings."""
        if self.repo:
            return f"{self.repo} ({self.file})"
        return self.path or f"built-in {self.builtin} model"

    def location(self, models_dir: Path) -> Path:
        """The weights file (`repo`, `path`) or the built-in model's folder."""
        if self.builtin:
            return models_dir / f"sfumato-{self.builtin}"
        if self.path:
            return Path(self.path) if Path(self.path).is_absolute() else models_dir / self.path
        assert self.repo and self.file
        return models_dir / self.repo.replace("/", "--") / self.file

    def is_installed(self, models_dir: Path) -> bool:
        """A weights file once it exists (hub downloads move a file into place only when complete);
        a built-in model once its build's marker is there."""
        if self.builtin:
            return (self.location(models_dir) / BUILTIN_MARKER).is_file()
        return self.location(models_dir).is_file()


@dataclass(frozen=True)
class AuxEntry:
    """One auxiliary model row; subclasses add their kind's fields and name their table."""

    KIND: ClassVar[str]
    COMPANIONS: ClassVar[tuple[str, ...]] = ()
    """Files a `repo` + `file` row also needs from the repo, beside `file` (a model folder's configs);
    `models pull` fetches them first, so the row counts as installed only once `file` is there."""
    face: AuxFace
    weights: AuxWeights

    @property
    def id(self) -> str:
        return self.face.id

    @property
    def name(self) -> str:
        return self.face.name

    def is_installed(self, models_dir: Path) -> bool:
        """Whether the row can serve without a download (a kind with files elsewhere says more)."""
        return self.weights.is_installed(models_dir)

    def extra_pulls(self) -> tuple[tuple[str, str], ...]:
        """(repo, file) pairs `models pull` fetches after the weights file, from any repo (an
        IP-Adapter's image encoder); none for most kinds."""
        return ()

    @classmethod
    def _own_fields(cls) -> list[Any]:
        return [f for f in fields(cls) if f.name not in ("face", "weights")]

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: str = "catalog row") -> Self:
        """Parse one flat row; `where` (file and table) prefixes the error for a bad key or value."""
        parts: dict[str, Any] = {"face": AuxFace, "weights": AuxWeights}
        known = [f.name for part in parts.values() for f in fields(part)] + [f.name for f in cls._own_fields()]
        for key in row:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise CatalogFormatError(f"{where}: unknown key {key!r}{hint}")
        required = [f.name for f in fields(AuxFace) if f.default is MISSING]
        required += [f.name for f in cls._own_fields() if f.default is MISSING]
        for key in required:
            if key not in row:
                raise CatalogFormatError(f"{where}: missing key {key!r}")
        try:
            built = {
                name: part(**{f.name: row[f.name] for f in fields(part) if f.name in row})
                for name, part in parts.items()
            }
            own = {f.name: cls._value(f.name, row[f.name]) for f in cls._own_fields() if f.name in row}
            return cls(**built, **own)
        except CatalogFormatError as error:
            raise CatalogFormatError(f"{where}: {error}") from None

    @classmethod
    def _value(cls, key: str, value: Any) -> Any:
        """A kind field's TOML value as the entry keeps it (subclasses check theirs)."""
        return value

    def to_row(self) -> dict[str, Any]:
        """The flat row `from_row` reads back (what `models add` writes); keys at their default are left out."""
        row: dict[str, Any] = {}
        for part in (self.face, self.weights):
            row |= {f.name: getattr(part, f.name) for f in fields(part) if getattr(part, f.name) != f.default}
        for f in self._own_fields():
            value = getattr(self, f.name)
            if value != f.default:
                row[f.name] = list(value) if isinstance(value, tuple) else value
        return row


@dataclass(frozen=True)
class UpscalerEntry(AuxEntry):
    """An image upscaler: an ESRGAN-class network (RRDBNet state dict, .safetensors or .pth) that
    makes each side `scale` times larger; other factors are reached by resizing its output."""

    KIND: ClassVar[str] = "upscaler"
    scale: int

    @classmethod
    def _value(cls, key: str, value: Any) -> Any:
        if key == "scale" and not (isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 4, 8)):
            raise CatalogFormatError(f"'scale' must be 1, 2, 4 or 8 (got {value!r})")
        return value


@dataclass(frozen=True)
class BackgroundRemoverEntry(AuxEntry):
    """A salient-object segmenter whose mask becomes the alpha channel: an ONNX network (run by
    onnxruntime, the `sfumato[onnx]` extra) seeing an `input_size` square RGB picture normalised
    with `mean`/`std`; `sigmoid` when it answers logits. Its mask is min-max scaled to 0..1."""

    KIND: ClassVar[str] = "background_remover"
    input_size: int = 1024
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    sigmoid: bool = False

    @classmethod
    def _value(cls, key: str, value: Any) -> Any:
        if key in ("mean", "std"):
            if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int | float) for v in value)):
                raise CatalogFormatError(f"{key!r} must be three numbers, one per RGB channel (got {value!r})")
            return tuple(float(v) for v in value)
        if key == "input_size" and not (isinstance(value, int) and value >= 8):
            raise CatalogFormatError(f"'input_size' must be a whole number of pixels, at least 8 (got {value!r})")
        if key == "sigmoid" and not isinstance(value, bool):
            raise CatalogFormatError(f"'sigmoid' must be true or false (got {value!r})")
        return value


# What a ControlNet row may serve: the engine's ControlGuide kinds, or "any" (a stand-in for all).
CONTROL_KINDS = ("canny", "depth", "normal", "pose", "lineart", "sketch", "image")
ANY_CONTROL_KIND = "any"


@dataclass(frozen=True)
class ControlNetEntry(AuxEntry):
    """A ControlNet as a diffusers model folder (`config.json` + `diffusion_pytorch_model.safetensors`,
    the weights being `file`/`path`), for models of `family` (the engine's family name: sd15, sd2,
    sdxl, flux), guiding with control images of `kind`."""

    KIND: ClassVar[str] = "controlnet"
    COMPANIONS: ClassVar[tuple[str, ...]] = ("config.json",)
    family: str
    kind: str

    @classmethod
    def _value(cls, key: str, value: Any) -> Any:
        if key == "kind" and value not in (*CONTROL_KINDS, ANY_CONTROL_KIND):
            raise CatalogFormatError(f"'kind' must be one of {', '.join(CONTROL_KINDS)} or any (got {value!r})")
        if key == "family" and not (isinstance(value, str) and value):
            raise CatalogFormatError(f"'family' must name a model family such as sd15, sdxl or flux (got {value!r})")
        return value


@dataclass(frozen=True)
class DepthEstimatorEntry(AuxEntry):
    """A monocular depth model as a transformers folder (DPT or Depth Anything: `config.json`,
    `preprocessor_config.json`, `model.safetensors` as `file`/`path`) that turns a picture into the
    depth map (and, by its gradients, the normal map) a depth or normal ControlNet sees."""

    KIND: ClassVar[str] = "depth_estimator"
    COMPANIONS: ClassVar[tuple[str, ...]] = ("config.json", "preprocessor_config.json")


@dataclass(frozen=True)
class PoseEstimatorEntry(AuxEntry):
    """A top-down human pose model as a transformers folder (VitPose: `config.json`,
    `preprocessor_config.json`, `model.safetensors` as `file`/`path`) whose 17 COCO keypoints
    become the OpenPose-style skeleton a pose ControlNet sees."""

    KIND: ClassVar[str] = "pose_estimator"
    COMPANIONS: ClassVar[tuple[str, ...]] = ("config.json", "preprocessor_config.json")


@dataclass(frozen=True)
class SafetyCheckerEntry(AuxEntry):
    """An NSFW image classifier as a transformers folder (`config.json`, `preprocessor_config.json`,
    `model.safetensors` as `file`/`path`; Falconsai/nsfw_image_detection's layout): an image whose
    `label` score is at least `threshold` is flagged `nsfw`, and stored unchanged. Unlike the other
    kinds, no built-in row serves unless the catalog lists one: without a row, nothing is flagged."""

    KIND: ClassVar[str] = "safety_checker"
    COMPANIONS: ClassVar[tuple[str, ...]] = ("config.json", "preprocessor_config.json")
    threshold: float = 0.5
    label: str = "nsfw"

    @classmethod
    def _value(cls, key: str, value: Any) -> Any:
        if key == "threshold":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise CatalogFormatError(f"'threshold' must be a score between 0 and 1 (got {value!r})")
            return float(value)
        if key == "label" and not (isinstance(value, str) and value):
            raise CatalogFormatError(f"'label' must name the classifier's NSFW label (got {value!r})")
        return value


AUX_KINDS: tuple[type[AuxEntry], ...] = (
    UpscalerEntry,
    BackgroundRemoverEntry,
    ControlNetEntry,
    DepthEstimatorEntry,
    PoseEstimatorEntry,
    SafetyCheckerEntry,
)


_E = TypeVar("_E", bound=AuxEntry)


def in_use(entries: Iterable[_E], models_dir: Path) -> _E | None:
    """The entry of a kind that serves: the first installed real one, else the first built-in one."""
    listed = list(entries)
    installed = (e for e in listed if e.weights.builtin is None and e.is_installed(models_dir))
    return next(installed, None) or next((e for e in listed if e.weights.builtin is not None), None)
