"""Fine-tuning the embedding model and training its request table on labelled requests."""

from toolnav.tuning.model import TuningExample, TuningReport, tune_model

__all__ = ["TuningExample", "TuningReport", "tune_model"]
