"""HTTP: the FastAPI app, its routers (one per Leonardo resource) and error handlers."""
