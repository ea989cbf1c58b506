"""The engine's own errors that callers outside `engine/` catch (torch-free, like the door)."""

from __future__ import annotations


class EngineConfigError(ValueError):
    """An engine setting this machine cannot honour; the message says what to change."""
