"""Which methods a path takes, for the 405's `Allow` header.

Starlette's own 405 names only the first route whose path matched (so `/generations/{id}`
said GET and hid DELETE), and FastAPI's included routers expose no methods to ask. This table
is built once from the routers the app includes, with public Starlette path compilation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi import APIRouter
from starlette.routing import compile_path


class AllowedMethods:
    def __init__(self, mounted: Iterable[tuple[APIRouter, str]]) -> None:
        self._routes: list[tuple[re.Pattern[str], frozenset[str]]] = []
        for router, prefix in mounted:
            for route in router.routes:
                methods = getattr(route, "methods", None)
                if methods:
                    regex, _format, _convertors = compile_path(prefix + getattr(route, "path", ""))
                    self._routes.append((regex, frozenset(methods)))

    def at(self, path: str) -> str:
        """`GET, HEAD, DELETE`-style list for `path` (HEAD wherever GET is: `HeadAsGet`)."""
        methods: set[str] = set()
        for regex, route_methods in self._routes:
            if regex.match(path):
                methods |= route_methods
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(sorted(methods))
