"""Embedders behind one protocol; the default is the bundled all-MiniLM-L6-v2."""

from pathlib import Path

from toolnav.config import DEFAULT_THREADS
from toolnav.embed.base import Embedder, RequestMemo, embed_with_spans
from toolnav.embed.local import TUNING_FILE, MiniLMEmbedder
from toolnav.embed.request_table import TABLE_FILE

__all__ = ["TUNED_MODEL_DIR", "Embedder", "MiniLMEmbedder", "RequestMemo", "embed_with_spans",
           "label_free_table", "load_default_embedder", "tuned_model_dir"]

# `toolnav tune` writes the tuned model here, under the toolnav home (`toolnav tune
# --label-free` only a request table for the bundled model).
TUNED_MODEL_DIR = "model"


def tuned_model_dir(home: Path) -> Path | None:
    """The model `toolnav tune` wrote for *home*, if there is one."""
    directory = Path(home) / TUNED_MODEL_DIR
    return directory if (directory / TUNING_FILE).exists() else None


def label_free_table(home: Path) -> Path | None:
    """The request table `toolnav tune --label-free` wrote for *home*'s bundled model, if
    there is one (a tuned model's own table is not one)."""
    path = Path(home) / TUNED_MODEL_DIR / TABLE_FILE
    return path if path.is_file() and tuned_model_dir(home) is None else None


def load_default_embedder(home: Path | None = None, *, request_encoder: str | None = None,
                          threads: int = DEFAULT_THREADS, cache_dir: Path | None = None
                          ) -> MiniLMEmbedder:
    """The model tuned for *home* (``home/model``, written by `toolnav tune`) if there is one,
    else the bundled all-MiniLM-L6-v2, with the home's label-free request table if it has one
    (model files load on first use).

    Args:
        home: the toolnav home.
        request_encoder: how requests are embedded (`toolnav.config.REQUEST_ENCODERS`); None:
            the model's default.
        threads: ONNX Runtime threads per session.
        cache_dir: where derived model files are kept (default `default_cache_dir()`).

    Raises:
        EmbeddingError: ``table`` was asked for but the home's model has no request table.
    """
    tuned = tuned_model_dir(home) if home is not None else None
    table = label_free_table(home) if home is not None else None
    return MiniLMEmbedder(model_dir=tuned, request_table=table, request_encoder=request_encoder,
                          threads=threads, cache_dir=cache_dir)
