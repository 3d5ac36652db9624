"""BM25 over tool names, descriptions and parameters (bm25s, English stemming and stop words).

Building over 6.5k tools takes ~0.2 s, so the index lives in memory and is rebuilt when the
catalog changes. Which text is indexed is `toolnav.tool.lexical_text`'s decision.

Example:
    lexical = LexicalIndex(ids, texts)
    scores = lexical.scores("convert 30 dollars to euros")   # one score per id, 0 = no match
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer

__all__ = ["LexicalIndex"]


class LexicalIndex:
    """BM25 scores for a fixed list of documents.

    Args:
        ids: one id per document (kept in order; `scores` is aligned with it).
        texts: the documents.
    """

    def __init__(self, ids: Sequence[int], texts: Sequence[str]):
        self.ids = np.asarray(ids, dtype=np.int64)
        self._stemmer = Stemmer.Stemmer("english")
        self._model = bm25s.BM25()
        tokens = bm25s.tokenize(list(texts), stemmer=self._stemmer, show_progress=False)
        self._model.index(tokens, show_progress=False)

    def tokens(self, text: str) -> list[str]:
        """The stemmed, stop-word-free terms of *text*, as the index sees them."""
        return bm25s.tokenize([text], stemmer=self._stemmer, show_progress=False,
                              return_ids=False)[0]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for *query*, aligned with `ids`."""
        terms = self.tokens(query)
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best ids and their scores, best first (documents with score 0 included)."""
        scores = self.scores(query)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return self.ids[top], scores[top]
