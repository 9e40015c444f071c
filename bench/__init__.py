"""Benchmarks of the hot paths; each prints JSON, the last line one object with the headline figures."""
