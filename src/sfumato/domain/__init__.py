"""Plain domain values and rules: no HTTP, no SQL, no torch."""
