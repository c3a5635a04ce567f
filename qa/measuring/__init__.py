"""Measuring: evaluation metrics, fitting and cross-validation, and the overlap guard."""
