"""The data dir's `catalog.local.toml`, the one catalog file Sfumato writes (`sfumato models add|remove`).

It is edited with tomlkit, which keeps what it does not touch as written, so rows and comments an
operator adds by hand survive an add or remove. Each edit is written to a temporary file and moved
into place, so a reader never sees half a row.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Comment, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from sfumato.catalog.aux_entries import AUX_KINDS, AuxEntry
from sfumato.catalog.elements import ElementEntry
from sfumato.catalog.entries import CatalogEntry, CatalogFormatError
from sfumato.catalog.model_catalog import ModelCatalog


class CatalogEditError(ValueError):
    """A refused `models add|remove`; the message says why."""


_HEADER = (
    "Models added with `sfumato models add`; `sfumato models remove ID` takes them out again.",
    "Same format as the shipped catalog.toml. Hand edits and comments are kept.",
)


# An auxiliary model's id is typed on command lines (`models pull ID`, `models remove ID`): one word.
_AUX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Each kind of row `models add` writes: its table and how a row of it is read back.
_READERS: dict[str, Callable[..., CatalogEntry | AuxEntry]] = {
    "model": CatalogEntry.from_row,
    **{kind.KIND: kind.from_row for kind in AUX_KINDS},
    ElementEntry.KIND: ElementEntry.from_row,  # `sfumato elements add|remove`
}


def add_local_entry(local_file: Path, entry: CatalogEntry | AuxEntry, catalog: ModelCatalog) -> None:
    """Append a row to its kind's table; refused when the id is malformed or already taken."""
    if isinstance(entry, AuxEntry):
        table, row = entry.KIND, _aux_row(entry, catalog)
    else:
        table, row = "model", _model_row(entry, catalog)
    document = _read(local_file)
    added = tomlkit.table()
    for key, value in row.items():
        added.add(key, value)
    if table not in document:  # an array of tables appended with its row gets a blank line before it from tomlkit
        new_table = tomlkit.aot()
        new_table.append(added)
        document.append(table, new_table)
        _write(local_file, document)
        return
    rows = _table_rows(document, table, local_file)
    if rows is not document.body[-1][1]:  # another table follows: the comments above it move past the new row
        above_next = _comments_above_next_row(rows[-1])
        del rows[-1].value.body[len(rows[-1].value.body) - len(above_next) :]
        if not above_next or not isinstance(above_next[0], Whitespace):
            added.add(tomlkit.nl())
        for line in above_next:
            added.add(line)
    if not _ends_with_blank_line(rows[-1]):
        rows[-1].add(tomlkit.nl())
    rows.append(added)
    _write(local_file, document)


def _model_row(entry: CatalogEntry, catalog: ModelCatalog) -> dict[str, Any]:
    if entry.id is None:
        raise CatalogEditError("a model row needs an id")
    try:
        canonical = str(uuid.UUID(entry.id))
    except ValueError:
        raise CatalogEditError(f"model id {entry.id!r} is not a UUID (Leonardo model ids are)") from None
    if canonical in catalog.models:
        raise CatalogEditError(f"model id {canonical} is already in the catalog ({catalog.models[canonical].name})")
    return {**entry.to_row(), "id": canonical}


def _aux_row(entry: AuxEntry, catalog: ModelCatalog) -> dict[str, Any]:
    """Its id must be free among every id `models pull` takes: auxiliary ids, model ids, sd_versions, slugs."""
    if not _AUX_ID.fullmatch(entry.id):
        raise CatalogEditError(f"id {entry.id!r}: letters, digits, '.', '_' and '-', starting with a letter or digit")
    taken = catalog.auxiliary(entry.id) or catalog.get(entry.id) or catalog.fallbacks.get(entry.id)
    if taken is not None:
        raise CatalogEditError(f"id {entry.id} is already in the catalog ({taken.name}): pass another --id")
    if entry.id in catalog.slugs:  # `models pull` takes slugs too
        raise CatalogEditError(f"id {entry.id} is a v2 model slug in the catalog: pass another --id")
    return entry.to_row()


def remove_local_entry(local_file: Path, model_id: str, catalog: ModelCatalog) -> CatalogEntry | AuxEntry:
    """Drop an operator-added row of any kind; shipped ids and other files' rows are refused with the reason."""
    document = _read(local_file)
    found = _find_row(document, model_id, local_file)
    if found is None:
        if catalog.is_shipped(model_id):
            raise CatalogEditError(
                f"{model_id} is a shipped catalog model and cannot be removed; override its row in an "
                "operator catalog file (setting catalog_file) instead"
            )
        origin = catalog.origins.get(model_id)
        if origin is not None:
            raise CatalogEditError(f"{model_id} comes from {origin}: edit that file to remove it")
        raise CatalogEditError(f"unknown model id {model_id}: see `sfumato models list`")
    table, rows, index = found
    removed = _READERS[table](rows[index].unwrap(), where=f"{local_file}: [[{table}]]")
    _write(local_file, _drop_row(document, table, rows, index))
    return removed


def _find_row(document: TOMLDocument, entry_id: str, local_file: Path) -> tuple[str, AoT, int] | None:
    """The table, its rows and the index of the first row of any kind with this id."""
    for table in _READERS:
        if table in document:
            rows = _table_rows(document, table, local_file)
            index = next((i for i, row in enumerate(rows) if str(row.get("id")) == entry_id), None)
            if index is not None:
                return table, rows, index
    return None


def _read(local_file: Path) -> TOMLDocument:
    if not local_file.is_file():
        document = tomlkit.document()
        for line in _HEADER:
            document.add(tomlkit.comment(line))
        document.add(tomlkit.nl())
        return document
    try:
        return tomlkit.parse(local_file.read_text(encoding="utf-8"))
    except ParseError as error:
        raise CatalogFormatError(f"{local_file}: {error}") from None


def _table_rows(document: TOMLDocument, table: str, local_file: Path) -> AoT:
    rows = document[table]
    if not isinstance(rows, AoT):
        raise CatalogEditError(f"{local_file}: `{table}` is not written as [[{table}]] tables; edit that file by hand")
    return rows


def _ends_with_blank_line(row: Table) -> bool:
    body = row.value.body
    return bool(body) and isinstance(body[-1][1], Whitespace) and "\n" in body[-1][1].as_string()


def _drop_row(document: TOMLDocument, table: str, rows: AoT, index: int) -> TOMLDocument:
    """Remove row `index` of `table`: its header, keys and the comments touching them. Other comments
    stay, among them the block above the next row (or table), which tomlkit files at the end of the removed one."""
    kept = _comments_above_next_row(rows[index])
    del rows[index]
    if index > 0:
        previous = rows[index - 1]
        for line in _after_blank_lines(kept) if _ends_with_blank_line(previous) else kept:
            previous.add(line)
        return document
    kept = _after_blank_lines(kept)  # what comes before the first row ends the way it was written
    rebuilt = tomlkit.document()  # the block goes before the first row, which tomlkit has no call for
    rebuilt.parsing(True)  # as the parser does: items keep their own spacing, none is added
    for key, item in document.body:
        if key is not None and key.key == table:
            for line in kept:
                rebuilt.add(line)
            if not len(rows):  # an empty array of tables would be written as `model = []`
                continue
        if key is None:
            rebuilt.add(item)
        else:
            rebuilt.append(key, item)
    rebuilt.parsing(False)
    return rebuilt


def _comments_above_next_row(row: Table) -> list[Comment | Whitespace]:
    """The comments after a row's last blank line (all its trailing ones if it has none): those an
    operator wrote above the next row, not about this one."""
    body = row.value.body
    last_key = max((i for i, (key, _) in enumerate(body) if key is not None), default=-1)
    tail = [item for _, item in body[last_key + 1 :] if isinstance(item, Comment | Whitespace)]
    blanks = [i for i, item in enumerate(tail) if isinstance(item, Whitespace) and "\n" in item.as_string()]
    block = tail[blanks[-1] :] if blanks else tail
    return block if any(isinstance(item, Comment) for item in block) else []


def _after_blank_lines(lines: list[Comment | Whitespace]) -> list[Comment | Whitespace]:
    first = next((i for i, line in enumerate(lines) if not isinstance(line, Whitespace)), len(lines))
    return lines[first:]


def _write(local_file: Path, document: TOMLDocument) -> None:
    local_file.parent.mkdir(parents=True, exist_ok=True)
    staging = local_file.with_name(f".{local_file.name}.{uuid.uuid4().hex[:8]}")
    staging.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.replace(staging, local_file)
