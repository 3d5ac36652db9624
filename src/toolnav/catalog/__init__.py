"""Where tools come from and where they are kept: sources, the SQLite store, the Catalog."""

from toolnav.catalog.catalog import Catalog, IndexReport
from toolnav.catalog.sources import LoadedSource, load_source
from toolnav.catalog.store import CatalogEntry, SourceChange, SQLiteCatalogStore

__all__ = [
    "Catalog",
    "CatalogEntry",
    "IndexReport",
    "LoadedSource",
    "SQLiteCatalogStore",
    "SourceChange",
    "load_source",
]
