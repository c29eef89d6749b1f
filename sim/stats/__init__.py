"""Measurement: streaming recorders, quantiles, confidence intervals, timelines and objectives."""
