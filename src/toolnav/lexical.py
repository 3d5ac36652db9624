"""BM25 over tool names, descriptions and parameters (bm25s, English stemming and stop words).

Which text is indexed is `toolnav.tool.lexical_text`'s decision; fusing BM25 with dense scores
is `toolnav.route`'s. An index can be saved under a directory with a key (a digest of the texts),
so a router over an unchanged catalog loads it instead of re-tokenising every tool.

Example:
    lexical = LexicalIndex.open(home / "lexical", key, ids, texts)
    scores = lexical.scores("convert 30 dollars to euros")      # aligned with ids
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from toolnav._atomic import replaced_directory
from toolnav.errors import VectorIndexError

__all__ = ["LexicalIndex"]

# bm25s.tokenize's defaults, applied directly to one query: it builds a vocabulary and progress
# bars per call, which cost more than scoring (~0.2 ms of a router's few-ms budget per text).
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)

_FORMAT = 1
_MANIFEST = "manifest.json"


class LexicalIndex:
    """BM25 scores for a fixed list of documents.

    Args:
        ids: one id per document (kept in order; `scores` is aligned with it).
        texts: the documents.

    Raises:
        VectorIndexError: ids and texts differ in number.
    """

    def __init__(self, ids: Sequence[int], texts: Sequence[str]):
        if len(ids) != len(texts):
            raise VectorIndexError(f"{len(ids)} ids but {len(texts)} texts; give one id per "
                                   "text")
        self.ids = np.asarray(ids, dtype=np.int64)
        self._stemmer = Stemmer.Stemmer("english")
        self._model = bm25s.BM25()
        if len(texts):
            tokens = bm25s.tokenize(list(texts), stemmer=self._stemmer, show_progress=False)
            self._model.index(tokens, show_progress=False)

    @classmethod
    def open(cls, directory: Path, key: str, ids: Sequence[int],
             texts: Sequence[str] | Callable[[], Sequence[str]]) -> LexicalIndex:
        """Load the index saved under *directory* for *key* and *ids*, or build and save it.

        Args:
            directory: where the index is kept (created if needed).
            key: identifies the document set (e.g. the catalog version); a different key
                means the saved index is stale.
            ids: the document ids, in order.
            texts: the documents, or a function returning them (called only when building).

        Returns:
            The index; a failed save leaves a working in-memory index.
        """
        ids = np.asarray(ids, dtype=np.int64)
        loaded = cls._load(directory, key, ids)
        if loaded is not None:
            return loaded
        index = cls(ids, texts() if callable(texts) else texts)
        with contextlib.suppress(OSError):  # a read-only home still routes; rebuilt next time
            index._save(directory, key)
        return index

    def tokens(self, text: str) -> list[str]:
        """The stemmed, stop-word-free terms of *text*, as the index sees them."""
        words = [word for word in _TOKEN.findall(text.lower()) if word not in _STOPWORDS]
        return self._stemmer.stemWords(words)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for *query*, aligned with `ids` (0 = no match)."""
        terms = self.tokens(query)
        if not terms or not len(self.ids):
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)

    def _save(self, directory: Path, key: str) -> None:
        """Write the index to a fresh directory, then swap it in (readers never see half)."""
        with replaced_directory(directory) as staging:
            self._model.save(str(staging / "bm25"), show_progress=False)
            np.save(staging / "ids.npy", self.ids)
            (staging / _MANIFEST).write_text(json.dumps({"format": _FORMAT, "key": key}))

    @classmethod
    def _load(cls, directory: Path, key: str, ids: np.ndarray) -> LexicalIndex | None:
        try:
            manifest = json.loads((directory / _MANIFEST).read_text())
            if manifest != {"format": _FORMAT, "key": key}:
                return None
            saved_ids = np.load(directory / "ids.npy")
            if not np.array_equal(saved_ids, ids):
                return None
            model = bm25s.BM25.load(str(directory / "bm25"), show_progress=False)
        except (OSError, ValueError, KeyError):
            return None
        index = cls.__new__(cls)
        index.ids = ids
        index._stemmer = Stemmer.Stemmer("english")
        index._model = model
        return index
