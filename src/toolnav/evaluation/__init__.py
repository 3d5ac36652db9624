"""Routing evaluation on labelled datasets: metrics, union catalogs, abstention calibration."""

from toolnav.evaluation.evaluate import EvalReport, EvalRow, evaluate_datasets

__all__ = ["EvalReport", "EvalRow", "evaluate_datasets"]
