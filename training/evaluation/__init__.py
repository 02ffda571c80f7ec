"""Offline evaluation: splits, replay protocols and metric aggregation (metrics: recsys.metrics)."""
