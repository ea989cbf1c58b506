"""One router per Leonardo resource; HTTP only, the work is in `service/`."""
