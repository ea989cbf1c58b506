"""Completion webhooks: outbox rows written with the COMPLETE/FAILED transition, and a
deliverer that POSTs them with retries (docs/webhooks.md)."""
