"""Benchmarks that print figures: scripts without a .py suffix, and the modules they share."""
