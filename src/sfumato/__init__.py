"""Sfumato: a self-hosted image-generation server speaking Leonardo.AI's REST API."""

__version__ = "0.1.0"
