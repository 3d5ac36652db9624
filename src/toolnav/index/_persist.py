"""Versioned index directories: numpy arrays plus a JSON header, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from toolnav._atomic import replaced_directory
from toolnav.errors import IndexFormatError

__all__ = ["FORMAT_VERSION", "read_header", "read_index_dir", "write_index_dir"]

FORMAT_VERSION = 1
HEADER = "header.json"


def write_index_dir(path: Path, kind: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]
                    ) -> None:
    """Write arrays and a header to a temporary sibling, then swap it into place."""
    with replaced_directory(path) as staging:
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", array)
        header = {"format": "toolnav-index", "version": FORMAT_VERSION, "kind": kind,
                  "arrays": {name: list(array.shape) for name, array in arrays.items()},
                  **meta}
        (staging / HEADER).write_text(json.dumps(header, indent=1))


def read_header(path: Path) -> dict[str, Any]:
    """The header of an index directory, checked for format and version."""
    try:
        header = json.loads((Path(path) / HEADER).read_text())
    except FileNotFoundError:
        raise IndexFormatError(f"{path}: not an index directory (no {HEADER}); rebuild it "
                               "with `toolnav index --force`") from None
    except (OSError, ValueError) as error:
        raise IndexFormatError(f"{path}/{HEADER} is unreadable ({error}); rebuild the index "
                               "with `toolnav index --force`") from None
    if not isinstance(header, dict) or header.get("format") != "toolnav-index":
        raise IndexFormatError(f"{path}: {HEADER} is not a toolnav index header")
    if header.get("version") != FORMAT_VERSION:
        raise IndexFormatError(f"{path}: index format version {header.get('version')}, this "
                               f"toolnav reads {FORMAT_VERSION}; rebuild with "
                               "`toolnav index --force`")
    return header


def read_index_dir(path: Path, kind: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and memory-mapped arrays of an index of the given kind, shapes verified."""
    header = read_header(path)
    if header["kind"] != kind:
        raise IndexFormatError(f"{path} holds a {header['kind']!r} index, not {kind!r}")
    arrays = {}
    for name, shape in header["arrays"].items():
        try:
            array = np.load(Path(path) / f"{name}.npy", mmap_mode="r")
        except (OSError, ValueError) as error:
            raise IndexFormatError(f"{path}/{name}.npy is missing or corrupted ({error}); "
                                   "rebuild with `toolnav index --force`") from None
        if list(array.shape) != shape:
            raise IndexFormatError(f"{path}/{name}.npy has shape {list(array.shape)}, the "
                                   f"header says {shape}; the directory is inconsistent")
        arrays[name] = array
    return header, arrays
