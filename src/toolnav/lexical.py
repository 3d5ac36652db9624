"""BM25 over tool names, descriptions and parameters (English stemming and stop words).

bm25s builds the index (tokenising, document frequencies, the per-term score of every document);
toolnav keeps what it built, a sparse documents-by-terms score matrix in CSC form and the
vocabulary, in its own files, and scores a query with numpy: the sum of the query terms'
columns, which is what bm25s computes for the Lucene BM25 variant it uses by default. Loading a
saved index and scoring therefore never import bm25s (and the numba and scipy it imports, about
0.7 s of a one-shot `toolnav search`). Which text is indexed is `toolnav.tool.lexical_text`'s
decision; fusing BM25 with dense scores is `toolnav.route`'s. An index is saved under a
directory with a key (e.g. the catalog's fingerprint), so a router over an unchanged catalog
loads it instead of re-tokenising every tool.

Example:
    lexical = LexicalIndex.open(home / "lexical", key, ids, texts)
    scores = lexical.scores("convert 30 dollars to euros")      # aligned with ids
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import Stemmer

from toolnav._atomic import replaced_directory
from toolnav.errors import VectorIndexError

__all__ = ["LexicalIndex"]

# bm25s.tokenize's defaults (lower case, this pattern, its English stop words, then the stemmer),
# applied to one query without it: it builds a vocabulary and progress bars per call, which cost
# more than scoring, and importing bm25s costs more than a whole search.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STEMMER_LANGUAGE = "english"

_FORMAT = 2
_MANIFEST = "manifest.json"
_ARRAYS = "scores.npz"
_VOCABULARY = "vocabulary.json"


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
        import bm25s  # only to build: it imports numba and scipy.sparse (~0.7 s)
        from bm25s.stopwords import STOPWORDS_EN

        stemmer = Stemmer.Stemmer(_STEMMER_LANGUAGE)
        if len(texts):
            model = bm25s.BM25()  # the Lucene variant: no score for absent terms
            tokens = bm25s.tokenize(list(texts), stopwords=list(STOPWORDS_EN), stemmer=stemmer,
                                    show_progress=False)
            model.index(tokens, show_progress=False)
            if model.nonoccurrence_array is not None:  # a variant summing columns cannot score
                raise VectorIndexError(f"bm25s method {model.method!r} scores absent terms; "
                                       "toolnav scores the Lucene variant only")
            matrix = model.scores
            count = len(matrix["indptr"]) - 1  # bm25s adds a "" term past the last column
            terms = sorted(term for term, column in model.vocab_dict.items() if column < count)
            columns = np.array([model.vocab_dict[term] for term in terms], dtype=np.int64)
            arrays = (matrix["data"], matrix["indices"], matrix["indptr"])
        else:
            terms, columns = [], np.zeros(0, np.int64)
            arrays = (np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(1, np.int64))
        self._set(np.asarray(ids, dtype=np.int64), terms, columns, STOPWORDS_EN, *arrays)

    def _set(self, ids: np.ndarray, terms: list[str], columns: np.ndarray,
             stopwords: Iterable[str], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray
             ) -> None:
        """Hold one index: ``terms`` (sorted, so a lookup is a bisection and loading builds no
        dictionary) are the columns ``columns`` of the (documents x terms) CSC score matrix;
        column j scores the documents ``indices[indptr[j]:indptr[j+1]]`` with
        ``data[indptr[j]:indptr[j+1]]``."""
        self.ids = ids
        self._terms, self._columns = terms, columns
        self._stopwords = frozenset(stopwords)
        self._stemmer = Stemmer.Stemmer(_STEMMER_LANGUAGE)
        self._data, self._indices, self._indptr = data, indices, indptr

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
        loaded = cls.load(directory, key, ids)
        if loaded is not None:
            return loaded
        index = cls(ids, texts() if callable(texts) else texts)
        index.save(directory, key)
        return index

    def tokens(self, text: str) -> list[str]:
        """The stemmed, stop-word-free terms of *text*, as the index sees them."""
        words = [word for word in _TOKEN.findall(text.lower()) if word not in self._stopwords]
        return self._stemmer.stemWords(words)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for *query*, aligned with `ids` (0 = no match).

        A term the query repeats counts as often as it appears; terms no document has add
        nothing.
        """
        return self.scores_of([query])[0]

    def scores_of(self, queries: Sequence[str]) -> np.ndarray:
        """(len(queries), len(ids)) float32 BM25 scores, one row per query (see `scores`).

        Every query's matching postings are summed in one `np.bincount`: a request and its
        parts cost one pass instead of one scatter per term.
        """
        rows, columns = [], []
        for row, query in enumerate(queries):
            for term in self.tokens(query):
                found = bisect.bisect_left(self._terms, term)
                if found < len(self._terms) and self._terms[found] == term:
                    rows.append(row)
                    columns.append(self._columns[found])
        size = len(queries) * len(self.ids)
        if not columns:
            return np.zeros((len(queries), len(self.ids)), dtype=np.float32)
        starts = self._indptr[columns]
        lengths = self._indptr[np.asarray(columns) + 1] - starts
        # The postings of every (query, term) pair, laid end to end.
        postings = (np.arange(lengths.sum())
                    + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths))
        documents = (self._indices[postings]
                     + np.repeat(np.asarray(rows, dtype=np.int64) * len(self.ids), lengths))
        summed = np.bincount(documents, weights=self._data[postings], minlength=size)
        return summed.astype(np.float32).reshape(len(queries), len(self.ids))

    def save(self, directory: Path, key: str) -> None:
        """Write the index under *directory* for *key*: a fresh directory swapped in, so
        readers never see half of one. A failure (e.g. a read-only home) is ignored: the
        index keeps working in memory and is built again next time."""
        with contextlib.suppress(OSError), replaced_directory(directory) as staging:
            np.savez(staging / _ARRAYS, ids=self.ids, columns=self._columns, data=self._data,
                     indices=self._indices, indptr=self._indptr)
            # ASCII JSON: a lone surrogate in a tool's text survives the round trip.
            (staging / _VOCABULARY).write_text(json.dumps(
                {"terms": self._terms, "stopwords": sorted(self._stopwords)}))
            (staging / _MANIFEST).write_text(json.dumps({"format": _FORMAT, "key": key}))

    @classmethod
    def load(cls, directory: Path, key: str, ids: Sequence[int]) -> LexicalIndex | None:
        """The index saved under *directory* for *key* and exactly *ids*, or None when there
        is none, it is stale (another key or other ids) or its files are damaged."""
        ids = np.asarray(ids, dtype=np.int64)
        try:
            manifest = json.loads((directory / _MANIFEST).read_text())
            if manifest != {"format": _FORMAT, "key": key}:
                return None
            with np.load(directory / _ARRAYS) as arrays:
                if not np.array_equal(arrays["ids"], ids):
                    return None
                columns, data = arrays["columns"], arrays["data"]
                indices, indptr = arrays["indices"], arrays["indptr"]
            words = json.loads((directory / _VOCABULARY).read_text())
            terms, stopwords = words["terms"], words["stopwords"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if (len(columns) != len(terms) or len(data) != len(indices) or not len(indptr)
                or indptr[0] != 0 or indptr[-1] != len(data)
                or (len(columns) and not 0 <= columns.min() <= columns.max() < len(indptr) - 1)
                or (len(indices) and not 0 <= indices.min() <= indices.max() < len(ids))):
            return None
        index = cls.__new__(cls)
        index._set(ids, terms, columns, stopwords, data, indices, indptr)
        return index
