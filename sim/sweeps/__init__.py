"""Sweeps: the points of a design × replications on any executor, resumable; and stress tests."""
