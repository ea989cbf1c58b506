"""The engine: model catalog, pipeline loading and the request -> images plan."""
