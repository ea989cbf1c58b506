"""What an auxiliary model's file is, without building its network: `sfumato models add --kind ...`.

An upscaler is an RRDBNet state dict; its layout (and so its native scale) is read off the
tensor shapes, the same reading `stages/rrdbnet.py` builds the network from. A background
remover is an ONNX file; its protobuf is walked (no onnx package needed, the initializers are
skipped, not read) far enough to see that it is a model and what picture its first input takes.
Importing this module loads no torch: reading a `.pth` does, inside the call.
"""

from __future__ import annotations

import mmap
import pickle
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfumato.engine.weights.detect import DetectionError

UPSCALER_SUFFIXES = (".safetensors", ".pth", ".pt")
BACKGROUND_REMOVER_SUFFIXES = (".onnx",)


@dataclass(frozen=True)
class RRDBLayout:
    """An RRDBNet's constructor arguments as its state dict shows them."""

    features: int
    blocks: int
    growth: int
    upsamples: int
    unshuffle: int

    @property
    def scale(self) -> int:
        """`upsamples` nearest x2 steps after folding `unshuffle`² pixels into channels."""
        return 2**self.upsamples // self.unshuffle


def unwrap_state(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """The weights themselves: BasicSR's training checkpoints nest them under `params_ema` / `params`."""
    for wrapper in ("params_ema", "params"):
        if isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    return state


def rrdbnet_layout(shapes: Mapping[str, Sequence[int]]) -> RRDBLayout:
    """The layout of an RRDBNet state dict given as tensor name -> shape; DetectionError (a
    ValueError) for another architecture's weights."""
    first, dense = shapes.get("conv_first.weight"), shapes.get("body.0.rdb1.conv1.weight")
    if first is None or dense is None or len(first) != 4 or len(dense) != 4:
        raise DetectionError("not an RRDBNet (ESRGAN / Real-ESRGAN) state dict: no conv_first / body.0.rdb1 weights")
    unshuffle = {3: 1, 12: 2, 48: 4}.get(first[1])
    if unshuffle is None:
        raise DetectionError(f"RRDBNet with {first[1]} input channels: expected 3, 12 or 48")
    return RRDBLayout(
        features=first[0],
        blocks=len({m.group(1) for key in shapes if (m := re.match(r"body\.(\d+)\.", key))}),
        growth=dense[0],
        upsamples=len({key for key in shapes if re.match(r"conv_up\d+\.weight$", key)}),
        unshuffle=unshuffle,
    )


def detect_upscaler(path: Path) -> RRDBLayout:
    """The RRDBNet layout of a `.safetensors` (header only) or `.pth` state dict (read with
    `weights_only`, so a pickle can run no code); DetectionError for anything else."""
    _check_file(path, UPSCALER_SUFFIXES, "an upscaler is an RRDBNet state dict")
    if path.suffix.lower() == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="numpy") as handle:
                shapes = {key: list(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
        except Exception as error:  # safetensors raises its own error types for a bad header
            raise DetectionError(f"{path} is not a readable .safetensors file: {error}") from None
    else:
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:  # torch's own explanation runs over many lines
            raise DetectionError(
                f"{path} is not a state dict torch.load(weights_only=True) reads: a pickle of more than tensors and "
                "plain containers (a whole pickled model, say), or a damaged one"
            ) from None
        except Exception as error:  # a bad zip, a truncated file
            reason = (str(error).splitlines() or [type(error).__name__])[0]
            raise DetectionError(f"{path} is not a state dict torch.load(weights_only=True) reads: {reason}") from None
        if not isinstance(state, Mapping):
            raise DetectionError(f"{path} holds a {type(state).__name__}, not a state dict")
        shapes = {key: list(value.shape) for key, value in unwrap_state(state).items() if hasattr(value, "shape")}
    try:
        return rrdbnet_layout(shapes)
    except DetectionError as error:
        raise DetectionError(f"{path}: {error}") from None


def detect_background_remover(path: Path) -> int | None:
    """The square side an ONNX segmenter's first input takes (None where the graph leaves it
    dynamic); DetectionError when the file is not an ONNX model or its input is not a 1x3xSxS picture."""
    _check_file(path, BACKGROUND_REMOVER_SUFFIXES, "a background remover is an ONNX segmenter")
    if path.stat().st_size == 0:
        raise DetectionError(f"{path} is not an ONNX model: the file is empty")
    problem = None
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:  # the error is turned into text here: its traceback would keep views of the map open
            dims = _onnx_input_dims(memoryview(data))
        except ValueError as error:
            problem = str(error)
    if problem is not None:
        raise DetectionError(f"{path} is not an ONNX model: {problem}")
    if dims is None:
        return None
    if len(dims) != 4 or dims[1] not in (3, None):
        raise DetectionError(f"{path}: its input is {_shape(dims)}; a background remover takes a 1x3xSxS picture")
    height, width = dims[2:]
    if height is not None and width is not None and height != width:
        raise DetectionError(f"{path}: its input is {_shape(dims)}, not square; it is fed a square picture")
    return height if height is not None and height == width else None


def _check_file(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    if not path.is_file():
        raise DetectionError(f"{path} is not a file" if path.exists() else f"{path} does not exist")
    if path.suffix.lower() not in suffixes:
        raise DetectionError(f"{path}: {what} ({', '.join(suffixes)}), not a {path.suffix or 'suffix-less'} file")


def _shape(dims: list[int | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


# ONNX's protobuf field numbers (onnx.proto) on the way from the model to its first input's dims.
_MODEL_IR_VERSION, _MODEL_GRAPH = 1, 7
_GRAPH_INPUT, _VALUE_TYPE, _TYPE_TENSOR, _TENSOR_SHAPE, _SHAPE_DIM, _DIM_VALUE = 11, 2, 1, 2, 1, 1


def _onnx_input_dims(data: memoryview) -> list[int | None] | None:
    """The first graph input's dims (None for a named or absent one; None for all where the graph
    records no shape); ValueError for bytes that
    are no ONNX ModelProto (no ir_version, no graph, or no well-formed protobuf at all)."""
    model = dict(_fields(data))
    version, graph = model.get(_MODEL_IR_VERSION), model.get(_MODEL_GRAPH)
    if not isinstance(version, int) or not isinstance(graph, memoryview):
        raise ValueError("no ir_version and graph")
    first_input = next((value for number, value in _fields(graph) if number == _GRAPH_INPUT), None)
    if not isinstance(first_input, memoryview):
        raise ValueError("its graph has no input")
    shape: int | memoryview | None = first_input
    for number in (_VALUE_TYPE, _TYPE_TENSOR, _TENSOR_SHAPE):  # ValueInfoProto.type.tensor_type.shape
        shape = dict(_fields(shape)).get(number) if isinstance(shape, memoryview) else None
    if not isinstance(shape, memoryview):
        return None  # an input without a recorded shape: nothing to go by
    dims: list[int | None] = []
    for number, dim in _fields(shape):
        if number == _SHAPE_DIM and isinstance(dim, memoryview):
            value = dict(_fields(dim)).get(_DIM_VALUE)
            dims.append(value if isinstance(value, int) and value > 0 else None)
    return dims


def _fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """One protobuf message's (field number, value): an int for a varint, the bytes of any other
    field (length-delimited ones are sliced, not copied). ValueError for malformed bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
            continue
        if wire == 2:
            size, pos = _varint(data, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire} at byte {pos}")
        if pos + size > len(data):
            raise ValueError("truncated")
        yield number, data[pos : pos + size]
        pos += size


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise ValueError("truncated varint")
