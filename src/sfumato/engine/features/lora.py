"""LoRA elements (`RenderRequest.loras`): peft adapters loaded once per model, weighted per request, never fused.

Each element's file is loaded into the cached model once, as an adapter named after its catalog id,
and stays loaded (up to `MAX_LOADED` per model; the least recently used leave first). A request
activates just its own adapters at its weights (`set_adapters`); on the way out every adapter is
disabled, so the next request draws with the base weights, bit for bit. Fusing would be faster
per step, but fuse/unfuse leaves the base weights off by ~1e-6 (knobs-facts §4), and the model is
shared by every request.

LoRA adapts the attention's separate query/key/value projections, which fused QKV projections (a
CUDA speed-up, `runtime/optimize.py`) bypass: the first element a model takes unfuses them for
good (the same maths; only the last bits of its pictures differ from the fused ones).
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary, WeakSet

from sfumato.engine.errors import EngineConfigError
from sfumato.engine.request import RenderRequest
from sfumato.engine.runtime.optimize import DENOISERS

if TYPE_CHECKING:
    from sfumato.engine.renderer import LoadedModel, Renderer

# Adapters kept loaded per model: each costs memory and a little time to set active.
MAX_LOADED = 8

# Per cached model: its loaded adapters, least recently used first. A model's features run under
# its render lock, so one model's entry is never touched by two threads at once.
_loaded: WeakKeyDictionary[Any, OrderedDict[str, None]] = WeakKeyDictionary()
_registry_lock = threading.Lock()
# Cached models whose denoiser has had its QKV projections unfused (or never had them fused).
_separated: WeakSet[Any] = WeakSet()


def adapter_name(element_id: str) -> str:
    """A stable adapter name for an element (peft names are module keys: no dots or dashes)."""
    return "element_" + element_id.replace("-", "")


def loaded_adapters(model: LoadedModel) -> list[str]:
    """The adapters loaded in `model`, least recently used first."""
    with _registry_lock:
        return list(_loaded.get(model.base, ()))


@contextmanager
def loras_applied(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> Iterator[dict[str, Any]]:
    """A request feature (`renderer.REQUEST_FEATURES`): the request's adapters active at its weights
    for the call, every adapter disabled after it."""
    if not request.loras:
        yield {}
        return
    pipe: Any = model.base
    if renderer.auxiliary is None:
        raise EngineConfigError("this renderer has no auxiliary models, so no LoRA elements")
    with _registry_lock:
        loaded = _loaded.setdefault(model.base, OrderedDict())
    _separate_projections(pipe)
    names = [adapter_name(lora.element_id) for lora in request.loras]
    for lora, name in zip(request.loras, names, strict=True):
        if name not in loaded:
            _make_room(pipe, loaded, keep=set(names))
            file = renderer.auxiliary.element_file(lora.element_id)
            try:
                with warnings.catch_warnings():  # peft warns that a second adapter is a second adapter
                    warnings.filterwarnings("ignore", message="Already found a `peft_config`")
                    pipe.load_lora_weights(str(file.parent), weight_name=file.name, adapter_name=name)
            except Exception:
                if name in _adapters_of(pipe):  # a half-loaded adapter must not linger
                    pipe.delete_adapters([name])
                raise
            loaded[name] = None
        loaded.move_to_end(name)
    try:
        pipe.enable_lora()
        pipe.set_adapters(names, adapter_weights=[lora.scale for lora in request.loras])
        yield {}
    finally:
        pipe.disable_lora()


def _separate_projections(pipe: Any) -> None:
    """Unfuse the denoiser's QKV projections once, so the adapters on `to_q`/`to_k`/`to_v` take part."""
    if pipe in _separated:
        return
    for name in DENOISERS:
        module = getattr(pipe, name, None)
        if module is not None and any(getattr(m, "fused_projections", False) for m in module.modules()):
            module.unfuse_qkv_projections()
    _separated.add(pipe)


def _make_room(pipe: Any, loaded: OrderedDict[str, None], keep: set[str]) -> None:
    """Delete least recently used adapters (not `keep`'s) until one more fits under `MAX_LOADED`."""
    while len(loaded) >= MAX_LOADED:
        victim = next((name for name in loaded if name not in keep), None)
        if victim is None:
            return
        pipe.delete_adapters([victim])
        del loaded[victim]


def _adapters_of(pipe: Any) -> set[str]:
    return {name for names in pipe.get_list_adapters().values() for name in names}
