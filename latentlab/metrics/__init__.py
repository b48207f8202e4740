"""Metrics of generated samples: mode coverage on known mixtures (more to come)."""

from latentlab.metrics.mode_coverage import (
    ModeCoverage,
    coverage_table,
    evaluate_mode_coverage,
    mode_coverage,
    summarize_coverage,
)

__all__ = ["ModeCoverage", "mode_coverage", "summarize_coverage", "evaluate_mode_coverage", "coverage_table"]
