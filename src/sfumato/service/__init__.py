"""Use-cases that tie store, queue, storage and engine together. No HTTP in here."""
