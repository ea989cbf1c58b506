"""`SFUMATO_DEVICE` / `sfumato worker --device`: a device this machine lacks is refused when the
engine starts (one line naming the setting), not at the first render."""

from __future__ import annotations

import pytest
import torch

from sfumato.engine import EngineConfigError
from sfumato.engine.runtime.device import pick_device


def test_the_cpu_is_always_there() -> None:
    assert pick_device("cpu") == "cpu"


def test_a_missing_cuda_device_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pick_device("cuda:0") == "cuda:0"
    with pytest.raises(EngineConfigError, match=r"SFUMATO_DEVICE='cuda:1': this machine has 1 CUDA device"):
        pick_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(EngineConfigError, match="0 CUDA device"):
        pick_device("cuda")


@pytest.mark.parametrize("setting", ["gpu", "cuda:x", "meta"])
def test_a_setting_that_is_no_device_is_refused(setting: str) -> None:
    with pytest.raises(EngineConfigError, match="use auto, cpu, cuda, cuda:N or mps"):
        pick_device(setting)
