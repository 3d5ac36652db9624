"""Where tools come from and where they are kept: sources, stores, the Catalog."""

from toolnav.catalog.base import CatalogEntry, CatalogStore, RoutingRows, SourceChange
from toolnav.catalog.catalog import Catalog
from toolnav.catalog.embedding_cache import EmbeddingCache, embedding_key
from toolnav.catalog.sources import LoadedSource, load_source
from toolnav.catalog.sqlite import SQLiteCatalogStore

__all__ = [
    "Catalog",
    "CatalogEntry",
    "CatalogStore",
    "EmbeddingCache",
    "LoadedSource",
    "RoutingRows",
    "SQLiteCatalogStore",
    "SourceChange",
    "embedding_key",
    "load_source",
]
